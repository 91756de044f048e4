//! Each role in `template.yaml` grants what its code uses and nothing more: no wildcards, tables named
//! one by one, read-only for the export, the cursor key secret and no other, and an API Gateway role
//! that can only invoke the three functions. The account-wide CloudWatch Logs role lives in
//! `deploy/account.yaml`, not in the application stack.

use std::collections::BTreeSet;

use rill_api_contract::template::{
    ResourceTarget, SamTemplate, Statement, parse_statements, resource_target, table_indexes,
};
use serde_json::{Value, json};

/// DynamoDB actions that only read.
const READ_ACTIONS: [&str; 5] = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:DescribeTable",
];
/// The one action a function needs on the cursor key secret: read its value.
const READ_SECRET: &str = "secretsmanager:GetSecretValue";
/// The secret whose value signs pagination cursors.
const CURSOR_KEY_SECRET: &str = "CursorKeySecret";

fn template() -> SamTemplate {
    SamTemplate::load(&rill_api_contract::template_path()).expect("template.yaml loads")
}

fn statements_of(template: &SamTemplate, binary: &str) -> Vec<Statement> {
    let function = template
        .functions()
        .into_iter()
        .find(|f| f.binary == Some(binary))
        .unwrap_or_else(|| panic!("no function builds {binary}"));
    function.statements().expect("inline statements only")
}

#[test]
fn no_function_policy_uses_a_wildcard_action_or_resource() {
    let template = template();
    for function in template.functions() {
        for statement in function.statements().expect("inline statements only") {
            assert_eq!(statement.effect, "Allow", "{}", function.logical_id);
            for action in &statement.actions {
                assert!(!action.contains('*'), "{}: {action}", function.logical_id);
            }
            for resource in &statement.resources {
                assert!(
                    !resource.to_string().contains('*'),
                    "{}: {resource}",
                    function.logical_id
                );
            }
        }
    }
}

#[test]
fn every_function_resource_is_a_table_of_the_template_or_one_of_its_indexes_or_the_cursor_key() {
    let template = template();
    for function in template.functions() {
        for statement in function.statements().unwrap() {
            for resource in &statement.resources {
                match resource_target(resource) {
                    // The secret is read, and only read; no table action may name it.
                    ResourceTarget::Ref(id) => {
                        assert_eq!(id, CURSOR_KEY_SECRET, "{}: {resource}", function.logical_id);
                        assert_eq!(
                            statement.actions,
                            vec![READ_SECRET.to_owned()],
                            "{}",
                            function.logical_id
                        );
                        continue;
                    }
                    ResourceTarget::Arn(id) => assert_eq!(
                        template.resource_type(&id),
                        Some("AWS::DynamoDB::Table"),
                        "{}: {resource}",
                        function.logical_id
                    ),
                    ResourceTarget::Index { table, index } => {
                        let table_resource = template
                            .resource(&table)
                            .unwrap_or_else(|| panic!("{table} is not in the template"));
                        assert!(
                            table_indexes(table_resource).contains(&index),
                            "{}: {table} has no index {index}",
                            function.logical_id
                        );
                    }
                    ResourceTarget::Other(text) => panic!(
                        "{}: {text} is neither a table nor an index of one",
                        function.logical_id
                    ),
                }
                for action in &statement.actions {
                    assert!(
                        action.starts_with("dynamodb:"),
                        "{}: {action}",
                        function.logical_id
                    );
                }
            }
        }
    }
}

#[test]
fn the_export_function_can_only_read() {
    let template = template();
    let statements = statements_of(&template, "export");
    assert!(!statements.is_empty());
    for statement in statements {
        for action in &statement.actions {
            assert!(
                READ_ACTIONS.contains(&action.as_str()) || action == READ_SECRET,
                "the export may {action}"
            );
        }
    }
}

#[test]
fn every_function_may_read_the_cursor_key_secret_and_no_other_secret() {
    // Given the secret that signs cursors, whose ARN every function gets in its environment
    let template = template();
    assert_eq!(
        template.resource_type(CURSOR_KEY_SECRET),
        Some("AWS::SecretsManager::Secret")
    );
    for function in template.functions() {
        let id = function.logical_id;
        let secret_statements: Vec<Statement> = function
            .statements()
            .unwrap()
            .into_iter()
            .filter(|s| s.actions.iter().any(|a| a.starts_with("secretsmanager:")))
            .collect();
        // Then exactly one statement lets it read exactly that secret, by its Ref (the ARN)
        assert_eq!(secret_statements.len(), 1, "{id}: {secret_statements:?}");
        let statement = &secret_statements[0];
        assert_eq!(statement.actions, vec![READ_SECRET.to_owned()], "{id}");
        assert_eq!(
            statement.resources,
            vec![json!({"Ref": CURSOR_KEY_SECRET})],
            "{id}"
        );
    }
}

#[test]
fn only_the_orders_function_touches_idempotency_keys() {
    let template = template();
    for binary in ["users", "export"] {
        for statement in statements_of(&template, binary) {
            for resource in &statement.resources {
                assert_ne!(
                    resource_target(resource),
                    ResourceTarget::Arn("IdempotencyTable".into()),
                    "{binary}"
                );
            }
        }
    }
    let orders = statements_of(&template, "orders");
    assert!(orders.iter().any(|s| {
        s.resources
            .iter()
            .any(|r| resource_target(r) == ResourceTarget::Arn("IdempotencyTable".into()))
    }));
}

#[test]
fn the_orders_function_may_check_users_but_never_change_them() {
    let template = template();
    for statement in statements_of(&template, "orders") {
        let on_users = statement
            .resources
            .iter()
            .any(|r| resource_target(r) == ResourceTarget::Arn("UsersTable".into()));
        if on_users {
            for action in &statement.actions {
                assert!(
                    ["dynamodb:GetItem", "dynamodb:ConditionCheckItem"].contains(&action.as_str()),
                    "orders may {action} on users"
                );
            }
        }
    }
}

#[test]
fn api_gateway_may_only_invoke_the_three_functions_through_their_aliases() {
    // Given the role every integration uses
    let template = template();
    let role = template
        .resource("ApiGatewayInvokeRole")
        .expect("the invoke role");
    assert_eq!(role["Type"], "AWS::IAM::Role");

    // Then only API Gateway assumes it
    let trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        .as_array()
        .expect("a trust policy");
    assert_eq!(trust.len(), 1);
    assert_eq!(trust[0]["Effect"], "Allow");
    assert_eq!(trust[0]["Action"], "sts:AssumeRole");
    assert_eq!(
        trust[0]["Principal"],
        json!({"Service": "apigateway.amazonaws.com"})
    );
    // With no condition: AWS documents none that API Gateway sets when it assumes integration
    // credentials, and one it does not set fails every route with a 500.
    assert!(
        trust[0].get("Condition").is_none(),
        "the invoke role's trust has a condition: {}",
        trust[0]["Condition"]
    );
    assert!(role["Properties"].get("ManagedPolicyArns").is_none());

    // And it can invoke, buffered or streaming, exactly the template's functions
    let mut actions = BTreeSet::new();
    let mut resources = BTreeSet::new();
    for policy in role["Properties"]["Policies"]
        .as_array()
        .expect("inline policies")
    {
        for statement in parse_statements(&policy["PolicyDocument"]["Statement"]).unwrap() {
            assert_eq!(statement.effect, "Allow");
            actions.extend(statement.actions);
            resources.extend(statement.resources.iter().map(Value::to_string));
        }
    }
    assert_eq!(
        actions,
        BTreeSet::from([
            "lambda:InvokeFunction".to_owned(),
            "lambda:InvokeWithResponseStream".to_owned()
        ])
    );
    // And what it may invoke is each function's published alias, the qualified ARN the
    // integrations call, never the unqualified function ($LATEST)
    let aliases: BTreeSet<String> = template
        .functions()
        .iter()
        .map(|f| {
            let alias = f
                .alias_logical_id()
                .expect("every function publishes an alias");
            json!({"Ref": alias}).to_string()
        })
        .collect();
    assert_eq!(aliases.len(), 3);
    assert_eq!(resources, aliases);
}

#[test]
fn tables_are_on_demand_recoverable_and_encrypted_and_keys_expire() {
    let template = template();
    let tables: Vec<&str> = template.of_type("AWS::DynamoDB::Table").collect();
    assert_eq!(tables.len(), 3);
    for id in tables {
        let properties = &template.resource(id).unwrap()["Properties"];
        assert_eq!(properties["BillingMode"], "PAY_PER_REQUEST", "{id}");
        assert_eq!(
            properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true,
            "{id}"
        );
        assert_eq!(properties["SSESpecification"]["SSEEnabled"], true, "{id}");
    }
    let idempotency = &template.resource("IdempotencyTable").unwrap()["Properties"];
    assert_eq!(
        idempotency["TimeToLiveSpecification"],
        json!({"AttributeName": "expiresAt", "Enabled": true})
    );
}

#[test]
fn the_tables_have_the_keys_and_index_the_dynamodb_store_uses() {
    // Given the key schemas in docs/data-model.md and rill-store-dynamodb
    let template = template();
    let keys = |id: &str| {
        let properties = &template.resource(id).unwrap()["Properties"];
        (
            properties["KeySchema"].clone(),
            properties["AttributeDefinitions"].clone(),
        )
    };
    let pk_only = (
        json!([{"AttributeName": "pk", "KeyType": "HASH"}]),
        json!([{"AttributeName": "pk", "AttributeType": "S"}]),
    );

    // Then every table is keyed by `pk` alone, and orders have `byUser` on userId and createdKey
    assert_eq!(keys("UsersTable"), pk_only);
    assert_eq!(keys("IdempotencyTable"), pk_only);
    let orders = template.resource("OrdersTable").unwrap();
    assert_eq!(keys("OrdersTable").0, pk_only.0);
    assert_eq!(
        table_indexes(orders),
        vec![rill_store_dynamodb::BY_USER_INDEX]
    );
    let index = &orders["Properties"]["GlobalSecondaryIndexes"][0];
    assert_eq!(
        index["KeySchema"],
        json!([
            {"AttributeName": "userId", "KeyType": "HASH"},
            {"AttributeName": "createdKey", "KeyType": "RANGE"}
        ])
    );
    assert_eq!(index["Projection"], json!({"ProjectionType": "ALL"}));
}

#[test]
fn no_function_takes_a_role_or_managed_policy_from_outside_its_own_statements() {
    // A function's `Role` replaces the role SAM builds from `Policies`, and a managed policy cannot
    // be read here: either would bypass the checks above.
    let template = template();
    for function in template.functions() {
        for property in ["Role", "ManagedPolicyArns", "PermissionsBoundary"] {
            assert!(
                function.properties.get(property).is_none(),
                "{} sets {property}",
                function.logical_id
            );
        }
    }
    assert!(
        template
            .document()
            .pointer("/Globals/Function/Role")
            .is_none(),
        "a global Role would apply to every function"
    );
}

#[test]
fn the_template_has_one_role_and_no_account_wide_setting() {
    // Given every IAM role of the application stack
    let template = template();
    let roles: BTreeSet<&str> = template.of_type("AWS::IAM::Role").collect();
    assert_eq!(roles, BTreeSet::from(["ApiGatewayInvokeRole"]));
    assert_eq!(template.of_type("AWS::IAM::Policy").count(), 0);
    assert_eq!(template.of_type("AWS::IAM::ManagedPolicy").count(), 0);
    assert_eq!(template.of_type("AWS::IAM::User").count(), 0);

    // Then API Gateway's per-account CloudWatch Logs setting is not part of it: two stacks in one
    // account would overwrite it, and deleting either would delete the role it points at
    assert_eq!(template.of_type("AWS::ApiGateway::Account").count(), 0);
}

#[test]
fn the_account_setup_sets_api_gateway_logging_to_a_role_that_only_pushes_logs() {
    // Given the one-time account setup
    let account =
        SamTemplate::load(&rill_api_contract::workspace_root().join("deploy/account.yaml"))
            .expect("deploy/account.yaml loads");
    let roles: BTreeSet<&str> = account.of_type("AWS::IAM::Role").collect();
    assert_eq!(roles, BTreeSet::from(["ApiGatewayCloudWatchRole"]));
    let settings: Vec<&str> = account.of_type("AWS::ApiGateway::Account").collect();
    assert_eq!(settings.len(), 1);
    assert_eq!(
        account.resource(settings[0]).unwrap()["Properties"]["CloudWatchRoleArn"],
        json!({"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]})
    );

    // Then the logging role is assumed only by API Gateway and holds only AWS's push-logs policy
    let role = &account.resource("ApiGatewayCloudWatchRole").unwrap()["Properties"];
    let trust = role["AssumeRolePolicyDocument"]["Statement"]
        .as_array()
        .expect("a trust policy");
    assert_eq!(trust.len(), 1);
    assert_eq!(
        trust[0]["Principal"],
        json!({"Service": "apigateway.amazonaws.com"})
    );
    assert!(role.get("Policies").is_none());
    let managed = role["ManagedPolicyArns"]
        .as_array()
        .expect("managed policies");
    assert_eq!(managed.len(), 1);
    assert!(
        managed[0]
            .to_string()
            .ends_with(":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs\"}"),
        "{}",
        managed[0]
    );
}

#[test]
fn nothing_but_the_invoke_role_can_invoke_the_functions() {
    // Resource-based permissions (an `AWS::Lambda::Permission`, or the ones SAM adds for a
    // function's `Events`) would let callers in around the invoke role.
    let template = template();
    assert_eq!(template.of_type("AWS::Lambda::Permission").count(), 0);
    for function in template.functions() {
        assert!(
            function.properties.get("Events").is_none(),
            "{} has Events",
            function.logical_id
        );
        assert!(
            function.properties.get("FunctionUrlConfig").is_none(),
            "{} has a function URL",
            function.logical_id
        );
    }
}
