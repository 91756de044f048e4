//! Every row of `docs/bad-input.md`, end to end: a signed request carrying the bad input goes
//! through the real gateway to the real function, and the test asserts the exact answer (status,
//! and the problem type or the gateway's message), that it is not a 5xx, that its body leaks
//! nothing (every [`Api`] answer is scanned), and that the store holds exactly what it held before.
//!
//! The gateway validates request bodies against the OpenAPI schemas as API Gateway does, so most
//! malformed bodies are answered by the gateway (`{"message": "Invalid request body"}`) before any
//! function runs; what the schema cannot express (an id that does not exist, a stale version, a
//! taken email, a header's format) is answered by the function with a problem document.

use rill_gateway::testing::spawn_gateway;
use rill_hostile_tests::api::{Request, order_body};
use rill_hostile_tests::stores::{Census, SqliteProbe};
use rill_hostile_tests::{Answer, Api};
use serde_json::{Value, json};

const INVALID_BODY: &str = "Invalid request body";

/// A gateway on a fresh SQLite store, with one user and one pending order in it.
struct World {
    api: Api,
    store: SqliteProbe,
    user: Value,
    order: Value,
}

impl World {
    async fn new() -> Self {
        let api = Api::new(spawn_gateway().await);
        let store = SqliteProbe::in_data_dir(api.gateway().data_dir());
        let user = api.create_user("ada@example.com", "Ada Lovelace").await;
        let order = api.create_order(user_id(&user)).await;
        Self {
            api,
            store,
            user,
            order,
        }
    }

    fn user_id(&self) -> &str {
        user_id(&self.user)
    }

    fn order_id(&self) -> &str {
        self.order["id"].as_str().expect("an order id")
    }

    /// Sends `request`, hands the answer to `check`, and asserts that nothing was written.
    async fn refused(&self, request: Request, check: impl FnOnce(&Answer)) -> Answer {
        let before = self.store.census();
        let answer = self.api.send(request).await;
        assert!(answer.status < 500, "{} {}", answer.status, answer.text());
        check(&answer);
        self.assert_unchanged(&before);
        answer
    }

    /// Sends raw bytes, hands the answer to `check`, and asserts that nothing was written.
    async fn refused_raw(&self, bytes: &[u8], check: impl FnOnce(&Answer)) -> Answer {
        let before = self.store.census();
        let answer = self.api.raw(bytes).await;
        assert!(answer.status < 500, "{} {}", answer.status, answer.text());
        check(&answer);
        self.assert_unchanged(&before);
        answer
    }

    fn assert_unchanged(&self, before: &Census) {
        let after = self.store.census();
        assert_eq!(&after, before, "a refused request changed the store");
        after.assert_consistent();
    }

    /// The user and order as stored, to compare versions before and after.
    async fn current(&self) -> (Value, Value) {
        let user = self.api.get(&format!("/users/{}", self.user_id())).await;
        let order = self.api.get(&format!("/orders/{}", self.order_id())).await;
        (user.json(), order.json())
    }

    async fn finish(self) {
        self.store.assert_opens_cleanly();
        self.api.shutdown().await;
    }
}

fn user_id(user: &Value) -> &str {
    user["id"].as_str().expect("a user id")
}

fn post_user(body: Vec<u8>) -> Request {
    Request::new("POST", "/users").body_with_type(body, "application/json")
}

fn post_order(body: &Value) -> Request {
    Request::new("POST", "/orders").json(body)
}

fn invalid_body(answer: &Answer) {
    answer.assert_gateway(400, INVALID_BODY);
}

fn order_with_line(user_id: &str, line: Value) -> Value {
    json!({"userId": user_id, "currency": "EUR", "items": [line]})
}

// ------------------------------------------------------------------------------------------------
// Bodies: syntax and shape.
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_is_refused_by_the_gateway_with_invalid_request_body() {
    let world = World::new().await;
    for body in [
        r#"{"email": "grace@example.com", "name": "Grace""#,
        r#"{"email": "grace@example.com",, "name": "Grace"}"#,
        r#"{'email': 'grace@example.com'}"#,
        r#"{"email": "grace@example.com", "name": "Grace"} trailing"#,
    ] {
        world
            .refused(post_user(body.as_bytes().to_vec()), invalid_body)
            .await;
    }
    world.finish().await;
}

#[tokio::test]
async fn wrong_types_are_refused_by_the_gateway_with_invalid_request_body() {
    let world = World::new().await;
    for body in [
        json!({"email": 5, "name": "Grace"}),
        json!({"email": "grace@example.com", "name": ["Grace"]}),
        json!({"email": "grace@example.com", "name": null}),
    ] {
        world
            .refused(Request::new("POST", "/users").json(&body), invalid_body)
            .await;
    }
    let line_as_text = order_with_line(
        world.user_id(),
        json!({"sku": "A", "quantity": "2", "unitPrice": 100}),
    );
    world.refused(post_order(&line_as_text), invalid_body).await;
    let fractional = order_with_line(
        world.user_id(),
        json!({"sku": "A", "quantity": 1.5, "unitPrice": 100}),
    );
    world.refused(post_order(&fractional), invalid_body).await;
    world.finish().await;
}

#[tokio::test]
async fn unknown_fields_are_refused_by_the_gateway_with_invalid_request_body() {
    let world = World::new().await;
    let with_admin = json!({"email": "grace@example.com", "name": "Grace", "admin": true});
    world
        .refused(
            Request::new("POST", "/users").json(&with_admin),
            invalid_body,
        )
        .await;
    let with_id = json!({"id": world.user_id(), "email": "grace@example.com", "name": "Grace"});
    world
        .refused(Request::new("POST", "/users").json(&with_id), invalid_body)
        .await;
    let with_status = json!({"status": "paid", "total": 0});
    world
        .refused(
            Request::new("PATCH", &format!("/orders/{}", world.order_id())).json(&with_status),
            invalid_body,
        )
        .await;
    world.finish().await;
}

#[tokio::test]
async fn an_empty_body_is_refused_by_the_gateway_with_invalid_request_body() {
    let world = World::new().await;
    world.refused(post_user(Vec::new()), invalid_body).await;
    world
        .refused(
            Request::new("PATCH", &format!("/users/{}", world.user_id()))
                .body_with_type(Vec::new(), "application/json"),
            invalid_body,
        )
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused_by_the_gateway_with_invalid_request_body() {
    let world = World::new().await;
    for body in [
        r#"["grace@example.com", "Grace"]"#,
        r#""grace""#,
        "42",
        "null",
        "true",
    ] {
        world
            .refused(post_user(body.as_bytes().to_vec()), invalid_body)
            .await;
    }
    world.finish().await;
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_a_415_from_the_function() {
    let world = World::new().await;
    let body = br#"{"email": "grace@example.com", "name": "Grace"}"#.to_vec();
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        world
            .refused(
                Request::new("POST", "/users").body_with_type(body.clone(), content_type),
                |answer| {
                    answer.assert_problem(415, "unsupported-media-type");
                },
            )
            .await;
    }
    world.finish().await;
}

// ------------------------------------------------------------------------------------------------
// Numbers.
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn numbers_beyond_their_bounds_are_refused_by_the_gateway_and_never_wrap() {
    let world = World::new().await;
    for line in [
        json!({"sku": "A", "quantity": 10_001, "unitPrice": 1}),
        json!({"sku": "A", "quantity": 4_294_967_297_u64, "unitPrice": 1}),
        json!({"sku": "A", "quantity": 1, "unitPrice": 1_000_000_000_001_i64}),
        json!({"sku": "A", "quantity": 1, "unitPrice": 9_223_372_036_854_775_807_i64}),
    ] {
        world
            .refused(
                post_order(&order_with_line(world.user_id(), line)),
                invalid_body,
            )
            .await;
    }
    // Numbers too large for any integer type, written out in the JSON text.
    for raw in [
        r#"{"sku": "A", "quantity": 99999999999999999999999, "unitPrice": 1}"#,
        r#"{"sku": "A", "quantity": 1, "unitPrice": 1e400}"#,
    ] {
        let body = format!(
            r#"{{"userId": "{}", "currency": "EUR", "items": [{raw}]}}"#,
            world.user_id()
        );
        world
            .refused(
                Request::new("POST", "/orders")
                    .body_with_type(body.into_bytes(), "application/json"),
                invalid_body,
            )
            .await;
    }
    world.finish().await;
}

#[tokio::test]
async fn a_client_sent_total_is_an_unknown_field_refused_by_the_gateway() {
    let world = World::new().await;
    let mut body = order_body(world.user_id());
    body["total"] = json!(1);
    world.refused(post_order(&body), invalid_body).await;
    world.finish().await;
}

#[tokio::test]
async fn the_largest_possible_order_total_is_computed_exactly() {
    // Given a hundred lines of the largest quantity at the largest unit price
    let world = World::new().await;
    let line = json!({"sku": "MAX", "quantity": 10_000, "unitPrice": 1_000_000_000_000_i64});
    let body = json!({"userId": world.user_id(), "currency": "EUR", "items": vec![line; 100]});

    // When it is ordered
    let answer = world.api.send(post_order(&body)).await;

    // Then the total is exact: 10^18 minor units, inside a signed 64-bit integer
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(answer.json()["total"], json!(1_000_000_000_000_000_000_i64));
    world.finish().await;
}

#[tokio::test]
async fn zero_or_negative_quantities_and_negative_prices_are_refused_by_the_gateway() {
    let world = World::new().await;
    for line in [
        json!({"sku": "A", "quantity": 0, "unitPrice": 1}),
        json!({"sku": "A", "quantity": -1, "unitPrice": 1}),
        json!({"sku": "A", "quantity": -9_223_372_036_854_775_808_i64, "unitPrice": 1}),
        json!({"sku": "A", "quantity": 1, "unitPrice": -1}),
    ] {
        world
            .refused(
                post_order(&order_with_line(world.user_id(), line)),
                invalid_body,
            )
            .await;
    }
    world.finish().await;
}

#[tokio::test]
async fn more_than_a_hundred_line_items_or_none_are_refused_by_the_gateway() {
    let world = World::new().await;
    let line = json!({"sku": "A", "quantity": 1, "unitPrice": 1});
    for count in [101, 10_000, 0] {
        let body = json!({"userId": world.user_id(), "currency": "EUR", "items": vec![line.clone(); count]});
        world.refused(post_order(&body), invalid_body).await;
    }
    world.finish().await;
}

// ------------------------------------------------------------------------------------------------
// Text.
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_that_is_not_utf8_is_refused_by_the_gateway_with_invalid_request_body() {
    let world = World::new().await;
    let mut body = br#"{"email": "grace@example.com", "name": "Gr"#.to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    body.extend_from_slice(br#""}"#);
    world.refused(post_user(body), invalid_body).await;
    world.finish().await;
}

#[tokio::test]
async fn control_characters_in_text_fields_are_refused_by_the_gateway() {
    let world = World::new().await;
    for body in [
        json!({"email": "grace@example.com", "name": "Grace\u{0007}"}),
        json!({"email": "grace@example.com", "name": "Grace\u{0000}Hopper"}),
        json!({"email": "grace@example.com", "name": "Grace\nHopper"}),
        json!({"email": "grace@example.com", "name": "Grace\u{009b}"}),
        json!({"email": "gr\u{0001}ace@example.com", "name": "Grace"}),
        json!({"email": "grace@example.com", "name": "   "}),
    ] {
        world
            .refused(Request::new("POST", "/users").json(&body), invalid_body)
            .await;
    }
    let control_sku = order_with_line(
        world.user_id(),
        json!({"sku": "A\u{0000}", "quantity": 1, "unitPrice": 1}),
    );
    world.refused(post_order(&control_sku), invalid_body).await;
    world.finish().await;
}

#[tokio::test]
async fn strings_longer_than_their_maximum_are_refused_by_the_gateway() {
    let world = World::new().await;
    let long_local = format!("{}@example.com", "a".repeat(65));
    let long_email = format!("grace@{}.com", "a".repeat(300));
    for body in [
        json!({"email": "grace@example.com", "name": "n".repeat(201)}),
        json!({"email": "grace@example.com", "name": "n".repeat(1_000_000)}),
        json!({"email": long_local, "name": "Grace"}),
        json!({"email": long_email, "name": "Grace"}),
    ] {
        world
            .refused(Request::new("POST", "/users").json(&body), invalid_body)
            .await;
    }
    let long_sku = order_with_line(
        world.user_id(),
        json!({"sku": "S".repeat(65), "quantity": 1, "unitPrice": 1}),
    );
    world.refused(post_order(&long_sku), invalid_body).await;
    world.finish().await;
}

#[tokio::test]
async fn a_name_of_exactly_two_hundred_characters_of_any_script_is_accepted() {
    let world = World::new().await;
    let name = "é".repeat(200);
    let answer = world
        .api
        .json(
            "POST",
            "/users",
            &json!({"email": "e@example.com", "name": name}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(answer.json()["name"], json!(name));
    world.finish().await;
}

#[tokio::test]
async fn a_name_that_grows_past_two_hundred_characters_under_normalisation_is_a_400_naming_it() {
    // Given a name of 70 characters as sent, which the schema's `maxLength: 200` lets through, but
    // which NFC turns into 210 (U+FB2C decomposes into three characters that never recompose).
    let world = World::new().await;
    let grows = "\u{fb2c}".repeat(70);
    // When it is sent as a new user's name or as a change of name, then the function counts the
    // name it would store and refuses it.
    world
        .refused(
            Request::new("POST", "/users")
                .json(&json!({"email": "grace@example.com", "name": grows})),
            |answer| {
                answer.assert_invalid_fields(&["name"]);
            },
        )
        .await;
    world
        .refused(
            Request::new("PATCH", &format!("/users/{}", world.user_id()))
                .json(&json!({"name": grows})),
            |answer| {
                answer.assert_invalid_fields(&["name"]);
            },
        )
        .await;
    // And the reverse, a name that NFC shrinks to 150 characters from 300 as sent, is over the
    // limit as the definition counts it, and the gateway refuses it first.
    let shrinks = "e\u{301}".repeat(150);
    world
        .refused(
            Request::new("POST", "/users")
                .json(&json!({"email": "grace@example.com", "name": shrinks})),
            invalid_body,
        )
        .await;
    world.finish().await;
}

// ------------------------------------------------------------------------------------------------
// Sizes at the edge: bodies, query strings, headers.
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_over_ten_megabytes_is_a_413_from_the_gateway() {
    let world = World::new().await;
    let name = "n".repeat(10 * 1024 * 1024 + 1);
    let body = json!({"email": "grace@example.com", "name": name});
    world
        .refused(Request::new("POST", "/users").json(&body), |answer| {
            answer.assert_gateway(413, "Request Too Long");
        })
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_body_over_lambdas_six_megabytes_that_no_schema_checks_is_a_413_from_the_gateway() {
    // A JSON body this large fails its schema first; one declared as text is not validated, so the
    // gateway finds the Lambda event would exceed the 6 MB invocation limit.
    let world = World::new().await;
    let body = vec![b'n'; 7 * 1024 * 1024];
    world
        .refused(
            Request::new("POST", "/users").body_with_type(body, "text/plain"),
            |answer| {
                answer.assert_gateway(413, "Request Too Long");
            },
        )
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_long_query_string_is_read_and_its_bad_parameter_named() {
    // Long, but within API Gateway's 10 240-character URL quota.
    let world = World::new().await;
    let long = "9".repeat(8 * 1024);
    world
        .refused(
            Request::new("GET", &format!("/users?limit={long}")),
            |answer| {
                answer.assert_invalid_fields(&["limit"]);
            },
        )
        .await;
    let cursor = "A".repeat(8 * 1024);
    world
        .refused(
            Request::new("GET", &format!("/orders?cursor={cursor}")),
            |answer| {
                answer.assert_invalid_fields(&["cursor"]);
            },
        )
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_url_over_ten_thousand_two_hundred_forty_characters_is_a_414_from_the_gateway() {
    let world = World::new().await;
    let long = "9".repeat(12_000);
    world
        .refused(
            Request::new("GET", &format!("/users?limit={long}")),
            |answer| {
                answer.assert_gateway(414, "Request-URI Too Long");
            },
        )
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_request_line_over_sixty_four_kilobytes_is_a_414_with_an_empty_body() {
    let world = World::new().await;
    let target = format!(
        "{}/users?limit={}",
        world.api.stage_prefix(),
        "9".repeat(70_000)
    );
    let request = format!("GET {target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
    world
        .refused_raw(request.as_bytes(), |answer| {
            assert_eq!(answer.status, 414, "{}", answer.text());
            assert!(answer.body.is_empty(), "{}", answer.text());
        })
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_header_block_over_the_servers_buffer_is_a_431_with_an_empty_body() {
    let world = World::new().await;
    let request = format!(
        "GET {}/users HTTP/1.1\r\nhost: localhost\r\nx-padding: {}\r\nconnection: close\r\n\r\n",
        world.api.stage_prefix(),
        "p".repeat(512 * 1024)
    );
    world
        .refused_raw(request.as_bytes(), |answer| {
            assert_eq!(answer.status, 431, "{}", answer.text());
            assert!(answer.body.is_empty(), "{}", answer.text());
        })
        .await;
    world.finish().await;
}

#[tokio::test]
async fn headers_over_ten_thousand_two_hundred_forty_bytes_are_a_431_from_the_gateway() {
    let world = World::new().await;
    let padding = "p".repeat(12 * 1024);
    world
        .refused(
            Request::new("GET", &format!("/users/{}", world.user_id()))
                .header("x-padding", &padding),
            |answer| {
                answer.assert_gateway(431, "Request Header Fields Too Large");
            },
        )
        .await;
    world.finish().await;
}

#[tokio::test]
async fn a_large_header_or_many_headers_within_the_quota_do_not_change_the_answer() {
    let world = World::new().await;
    let path = format!("/users/{}", world.user_id());
    // One unsigned 8 KiB header: with the signature's headers, still under 10 240 bytes.
    let answer = world
        .api
        .send(Request::new("GET", &path).header("x-padding", &"p".repeat(8 * 1024)))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    // 150 small unsigned headers: more than an HTTP server's usual 100, far under the quota.
    let many = (0..150).fold(Request::new("GET", &path), |request, n| {
        request.header(&format!("x-h-{n}"), "1")
    });
    let answer = world.api.send(many).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    world.finish().await;
}

// ------------------------------------------------------------------------------------------------
// Ids in paths.
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_malformed_id_is_a_400_naming_the_path_parameter() {
    let world = World::new().await;
    let id = world.user_id().to_owned();
    for bad in [
        "not-a-uuid".to_owned(),
        id.to_uppercase(),
        id.replace('-', ""),
        format!("{{{id}}}"),
        format!("{id}0"),
        "0".to_owned(),
    ] {
        world
            .refused(Request::new("GET", &format!("/users/{bad}")), |answer| {
                answer.assert_invalid_fields(&["userId"]);
            })
            .await;
        world
            .refused(
                Request::new("PATCH", &format!("/orders/{bad}")).json(&json!({"status": "paid"})),
                |answer| {
                    answer.assert_invalid_fields(&["orderId"]);
                },
            )
            .await;
    }
    world.finish().await;
}

#[tokio::test]
async fn a_well_formed_id_that_does_not_exist_is_a_404() {
    let world = World::new().await;
    let missing = "0190a5e2-7c1b-7a3e-9f1d-2b4c6d8e0a11";
    world
        .refused(
            Request::new("GET", &format!("/users/{missing}")),
            |answer| {
                answer.assert_problem(404, "not-found");
            },
        )
        .await;
    world
        .refused(
            Request::new("DELETE", &format!("/users/{missing}")),
            |answer| {
                answer.assert_problem(404, "not-found");
            },
        )
        .await;
    world
        .refused(
            Request::new("PATCH", &format!("/orders/{missing}")).json(&json!({"status": "paid"})),
            |answer| {
                answer.assert_problem(404, "not-found");
            },
        )
        .await;
    world
        .refused(post_order(&order_body(missing)), |answer| {
            answer.assert_invalid_fields(&["userId"]);
        })
        .await;
    world.finish().await;
}

#[tokio::test]
async fn ids_with_path_traversal_or_encoded_characters_never_leave_their_route() {
    let world = World::new().await;
    let stage = world.api.stage_prefix();
    // Encoded separators and dots are decoded into the id, which is then malformed. Sent as raw
    // bytes: an HTTP client library would resolve `%2e%2e` as a dot segment before sending.
    for id in [
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e",
        "%2E%2E%2F",
        "..%5C..%5Cwindows",
        "%00",
    ] {
        let before = world.store.census();
        let answer = world
            .api
            .raw_signed("GET", &format!("/users/{id}"), &[], &[])
            .await;
        answer.assert_invalid_fields(&["userId"]);
        world.assert_unchanged(&before);
    }
    // An id that decodes to blank is a missing parameter to the gateway, as to API Gateway.
    let before = world.store.census();
    let answer = world.api.raw_signed("GET", "/users/%20", &[], &[]).await;
    answer.assert_gateway(400, "Missing required request parameters: [userId]");
    world.assert_unchanged(&before);
    // Literal dot segments are not resolved: `..` is the id.
    let dots = format!(
        "GET {stage}/users/../orders HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"
    );
    world
        .refused_raw(dots.as_bytes(), |answer| {
            assert_eq!(answer.status, 403, "{}", answer.text());
        })
        .await;
    let signed_dots = world.api.raw_signed("GET", "/users/..", &[], &[]).await;
    assert!(signed_dots.status < 500, "{}", signed_dots.text());
    assert_ne!(signed_dots.status, 200, "{}", signed_dots.text());
    // A path that is not UTF-8 never reaches routing.
    let mut not_utf8 = format!("GET {stage}/users/").into_bytes();
    not_utf8.extend_from_slice(&[0xff, 0xfe]);
    not_utf8.extend_from_slice(b" HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
    world
        .refused_raw(&not_utf8, |answer| {
            assert_eq!(answer.status, 400, "{}", answer.text());
        })
        .await;
    world.finish().await;
}

// ------------------------------------------------------------------------------------------------
// Uniqueness of emails.
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn emails_that_differ_only_in_case_or_unicode_normalisation_are_one_address() {
    let world = World::new().await;
    for email in ["ADA@EXAMPLE.COM", "Ada@Example.com", "  ada@example.com  "] {
        world
            .refused(
                Request::new("POST", "/users").json(&json!({"email": email, "name": "Ada"})),
                |answer| {
                    answer.assert_problem(409, "conflict");
                },
            )
            .await;
    }
    // Composed é, then the same address decomposed (e + combining acute), then with a fullwidth
    // letter that NFKC folds to ASCII.
    world.api.create_user("jos\u{e9}@example.com", "José").await;
    for email in [
        "jose\u{301}@example.com",
        "JOSE\u{301}@example.com",
        "\u{ff4a}os\u{e9}@example.com",
    ] {
        world
            .refused(
                Request::new("POST", "/users").json(&json!({"email": email, "name": "José"})),
                |answer| {
                    answer.assert_problem(409, "conflict");
                },
            )
            .await;
    }
    // Changing another user's email to a variant is the same conflict.
    let grace = world.api.create_user("grace@example.com", "Grace").await;
    world
        .refused(
            Request::new("PATCH", &format!("/users/{}", user_id(&grace)))
                .json(&json!({"email": "Jose\u{301}@Example.com"})),
            |answer| {
                answer.assert_problem(409, "conflict");
            },
        )
        .await;
    world.finish().await;
}

// ------------------------------------------------------------------------------------------------
// State and headers.
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_status_move_the_order_life_forbids_is_a_409_and_an_unknown_status_a_400() {
    let world = World::new().await;
    let path = format!("/orders/{}", world.order_id());
    for status in ["delivered", "shipped", "pending"] {
        world
            .refused(
                Request::new("PATCH", &path).json(&json!({"status": status})),
                |answer| {
                    answer.assert_problem(409, "conflict");
                },
            )
            .await;
    }
    world
        .refused(
            Request::new("PATCH", &path).json(&json!({"status": "refunded"})),
            invalid_body,
        )
        .await;
    world
        .refused(
            Request::new("PATCH", &path).json(&json!({"status": "PAID"})),
            invalid_body,
        )
        .await;
    // A cancelled order is final.
    let cancelled = world
        .api
        .json("PATCH", &path, &json!({"status": "cancelled"}))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text());
    for status in ["paid", "pending", "cancelled"] {
        world
            .refused(
                Request::new("PATCH", &path).json(&json!({"status": status})),
                |answer| {
                    answer.assert_problem(409, "conflict");
                },
            )
            .await;
    }
    world.finish().await;
}

#[tokio::test]
async fn a_stale_if_match_is_a_412_and_changes_nothing() {
    let world = World::new().await;
    let (user_before, order_before) = world.current().await;
    let user_path = format!("/users/{}", world.user_id());
    let order_path = format!("/orders/{}", world.order_id());
    for stale in ["\"2\"", "W/\"0\"", "\"99\""] {
        world
            .refused(
                Request::new("PATCH", &user_path)
                    .header("if-match", stale)
                    .json(&json!({"name": "Countess"})),
                |answer| {
                    answer.assert_problem(412, "precondition-failed");
                },
            )
            .await;
        world
            .refused(
                Request::new("PATCH", &order_path)
                    .header("if-match", stale)
                    .json(&json!({"status": "paid"})),
                |answer| {
                    answer.assert_problem(412, "precondition-failed");
                },
            )
            .await;
        world
            .refused(
                Request::new("DELETE", &user_path).header("if-match", stale),
                |answer| {
                    answer.assert_problem(412, "precondition-failed");
                },
            )
            .await;
    }
    assert_eq!(world.current().await, (user_before, order_before));
    world.finish().await;
}

#[tokio::test]
async fn a_malformed_if_match_is_a_400_naming_the_header() {
    let world = World::new().await;
    let user_path = format!("/users/{}", world.user_id());
    for malformed in [
        "1",
        "\"1",
        "\"one\"",
        "\"01\"",
        "\"-1\"",
        "\"1\", \"2\"",
        "w/\"1\"",
        "\"99999999999999999999999\"",
    ] {
        world
            .refused(
                Request::new("PATCH", &user_path)
                    .header("if-match", malformed)
                    .json(&json!({"name": "Countess"})),
                |answer| {
                    answer.assert_invalid_fields(&["If-Match"]);
                },
            )
            .await;
    }
    world.finish().await;
}

#[tokio::test]
async fn an_idempotency_key_that_is_too_long_or_not_visible_ascii_is_a_400_naming_the_header() {
    let world = World::new().await;
    let body = order_body(world.user_id());
    // 9 000 characters: as long as a key can be with the signature's headers under API Gateway's
    // 10 240-byte header quota (beyond it, the gateway answers 431 before the function sees it).
    for key in [
        "k".repeat(256),
        "k".repeat(9_000),
        "has space".to_owned(),
        "tab\tkey".to_owned(),
    ] {
        world
            .refused(
                post_order(&body).header("idempotency-key", &key),
                |answer| {
                    answer.assert_invalid_fields(&["Idempotency-Key"]);
                },
            )
            .await;
    }
    // Bytes that are not text at all, sent on the wire as they are.
    let payload = body.to_string();
    let answer = world
        .api
        .raw_signed(
            "POST",
            "/orders",
            &[
                ("content-type", b"application/json".as_slice()),
                ("idempotency-key", b"k\xff\xfe"),
            ],
            payload.as_bytes(),
        )
        .await;
    answer.assert_invalid_fields(&["Idempotency-Key"]);
    world.finish().await;
}

#[tokio::test]
async fn an_idempotency_key_reused_with_another_body_is_a_422_and_keeps_the_first_order() {
    let world = World::new().await;
    let first = order_body(world.user_id());
    let created = world
        .api
        .send(post_order(&first).header("idempotency-key", "order-1"))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let mut other = first.clone();
    other["items"][0]["quantity"] = json!(3);
    world
        .refused(
            post_order(&other).header("idempotency-key", "order-1"),
            |answer| {
                answer.assert_problem(422, "idempotency-key-reused");
            },
        )
        .await;
    let replay = world
        .api
        .send(post_order(&first).header("idempotency-key", "order-1"))
        .await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json(), created.json());
    world.finish().await;
}

#[tokio::test]
async fn bad_query_parameters_are_each_named_in_one_400() {
    let world = World::new().await;
    world
        .refused(
            Request::new("GET", "/orders?userId=nope&status=refunded&limit=0"),
            |answer| {
                answer.assert_invalid_fields(&["userId", "status", "limit"]);
            },
        )
        .await;
    world
        .refused(Request::new("GET", "/users?limit=5&limit=6"), |answer| {
            answer.assert_invalid_fields(&["limit"]);
        })
        .await;
    world.finish().await;
}
