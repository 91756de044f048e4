//! The public definition made from `openapi/api.yaml` keeps every route and schema, and nothing of
//! the AWS wiring.

use rill_api_contract::public::{Server, public_definition};
use rill_api_contract::yaml::{read_yaml, to_json};

#[test]
fn the_public_definition_keeps_every_route_and_drops_every_aws_detail() {
    // Given the private definition
    let private = read_yaml(&rill_api_contract::api_definition_path()).unwrap();

    // When the public one is made for a deployed stage
    let public = public_definition(
        &private,
        &Server::Url("https://abc123.execute-api.eu-west-1.amazonaws.com/prod".into()),
    )
    .unwrap();
    let text = serde_yaml_ng::to_string(&public).unwrap();

    // Then no extension or CloudFormation function of AWS is left
    for needle in [
        "x-amazon-",
        "Fn::",
        "ApiGatewayInvokeRole",
        "Function.Arn",
        "FunctionAlias",
        "credentials:",
    ] {
        assert!(
            !text.contains(needle),
            "{needle} is still in the public definition"
        );
    }

    // And the routes, schemas and security are those of the private definition
    let private = to_json(private).unwrap();
    let public = to_json(public).unwrap();
    assert_eq!(
        public["paths"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        private["paths"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        public["components"]["schemas"],
        private["components"]["schemas"]
    );
    assert_eq!(public["security"], private["security"]);
    // And every operation keeps its own SigV4 requirement, as API Gateway needs it
    for (path, item) in public["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if rill_api_contract::spec::METHODS.contains(&method.as_str()) {
                assert_eq!(
                    operation["security"],
                    serde_json::json!([{"sigv4": []}]),
                    "{method} {path}"
                );
            }
        }
    }
    assert_eq!(
        public["servers"][0]["url"],
        "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    );
}
