//! The registry token service: who gets which actions, and a JWT a
//! Distribution registry accepts (ES256, the certificate in `x5c`).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{robot_create, Answer, Harbor};

/// The DER of the first certificate in a PEM text.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    STANDARD.decode(body).expect("PEM base64")
}

/// One DER element: (tag, content, rest).
fn tlv(data: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = data[0];
    let (len, header) = match data[1] {
        n if n < 0x80 => (n as usize, 2),
        0x81 => (data[2] as usize, 3),
        0x82 => (((data[2] as usize) << 8) | data[3] as usize, 4),
        other => panic!("DER length form {other:#x}"),
    };
    (tag, &data[header..header + len], &data[header + len..])
}

/// The uncompressed EC point of a certificate's subjectPublicKeyInfo.
fn public_key(der: &[u8]) -> Vec<u8> {
    let (_, certificate, _) = tlv(der);
    let (_, tbs, _) = tlv(certificate);
    let mut rest = tbs;
    // [0] version, serial, signature, issuer, validity, subject, then the key.
    let mut fields = Vec::new();
    while !rest.is_empty() {
        let (tag, content, next) = tlv(rest);
        fields.push((tag, content));
        rest = next;
    }
    let offset = if fields[0].0 == 0xa0 { 1 } else { 0 };
    let (tag, spki) = fields[offset + 5];
    assert_eq!(tag, 0x30, "subjectPublicKeyInfo is a SEQUENCE");
    let (_, _algorithm, rest) = tlv(spki);
    let (tag, bits, _) = tlv(rest);
    assert_eq!(tag, 0x03, "subjectPublicKey is a BIT STRING");
    assert_eq!(bits[0], 0, "no unused bits");
    bits[1..].to_vec()
}

/// The token's header and claims, after checking its signature against the
/// stand-in's certificate.
fn verify(harbor: &Harbor, token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("header");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("claims");
    let der = pem_der(harbor.standin.token_certificate_pem());
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["x5c"], json!([STANDARD.encode(&der)]));
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_FIXED,
        public_key(&der),
    );
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("the signature verifies with the certificate's key");
    (header, claims)
}

async fn token(harbor: &Harbor, user: Option<(&str, &str)>, scopes: &[&str]) -> Answer {
    let mut query = vec![("service", "harbor-registry"), ("account", "x")];
    query.extend(scopes.iter().map(|s| ("scope", *s)));
    let mut request = harbor
        .client
        .get(harbor.standin.token_realm())
        .query(&query);
    if let Some((user, password)) = user {
        request = request.basic_auth(user, Some(password));
    }
    harbor.send(request).await
}

/// The actions granted per resource name.
fn granted(harbor: &Harbor, answer: &Answer) -> Vec<(String, Vec<String>)> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let (_, claims) = verify(harbor, answer.body["token"].as_str().expect("token"));
    claims["access"]
        .as_array()
        .expect("access")
        .iter()
        .map(|a| {
            assert_eq!(a["type"], "repository");
            let actions = a["actions"]
                .as_array()
                .expect("actions")
                .iter()
                .map(|x| x.as_str().unwrap_or("").to_string())
                .collect();
            (a["name"].as_str().unwrap_or("").to_string(), actions)
        })
        .collect()
}

fn pull(name: &str) -> (String, Vec<String>) {
    (name.to_string(), vec!["pull".to_string()])
}

fn nothing(name: &str) -> (String, Vec<String>) {
    (name.to_string(), Vec::new())
}

#[tokio::test]
async fn a_robot_gets_pull_on_its_projects_only() {
    let harbor = Harbor::start().await;
    harbor.project("proj").await;
    harbor.project("other").await;
    let created = harbor.robot("puller", &["proj"], 30).await;
    let secret = created["secret"].as_str().expect("secret").to_string();
    let robot = ("robot$puller", secret.as_str());

    let answer = token(&harbor, Some(robot), &["repository:proj/app:pull"]).await;
    assert_eq!(
        answer.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(answer.body["access_token"], "");
    assert_eq!(answer.body["expires_in"], 1800);
    assert!(chrono::DateTime::parse_from_rfc3339(
        answer.body["issued_at"].as_str().expect("issued_at")
    )
    .is_ok());
    let (_, claims) = verify(&harbor, answer.body["token"].as_str().expect("token"));
    assert_eq!(claims["iss"], "harbor-token-issuer");
    assert_eq!(claims["sub"], "robot$puller");
    assert_eq!(claims["aud"], "harbor-registry");
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        1800
    );
    assert_eq!(claims["nbf"], claims["iat"]);
    assert_eq!(claims["jti"].as_str().map(str::len), Some(16));
    assert_eq!(
        claims["access"],
        json!([{"type": "repository", "name": "proj/app", "actions": ["pull"]}])
    );

    // Another private project, a missing one, a name without a project:
    // listed with no actions. Two scope parameters, and two scopes in one.
    let answer = token(
        &harbor,
        Some(robot),
        &[
            "repository:other/app:pull",
            "repository:nope/app:pull repository:app:pull",
        ],
    )
    .await;
    assert_eq!(
        granted(&harbor, &answer),
        vec![nothing("other/app"), nothing("nope/app"), nothing("app")]
    );
    // Asking for push on a pull robot: Harbor lists what it may do.
    let answer = token(&harbor, Some(robot), &["repository:proj/a/b:pull,push"]).await;
    assert_eq!(granted(&harbor, &answer), vec![pull("proj/a/b")]);
    // Public projects: anyone pulls.
    let answer = token(&harbor, Some(robot), &["repository:library/app:pull"]).await;
    assert_eq!(granted(&harbor, &answer), vec![pull("library/app")]);

    // The admin in Harbor's UI moves the robot to another project.
    harbor
        .controls()
        .set_permissions("robot$puller", &["other"])
        .expect("permissions");
    let answer = token(
        &harbor,
        Some(robot),
        &["repository:proj/app:pull", "repository:other/app:pull"],
    )
    .await;
    assert_eq!(
        granted(&harbor, &answer),
        vec![nothing("proj/app"), pull("other/app")]
    );
    harbor.assert_no_violations();
}

#[tokio::test]
async fn disabled_expired_or_wrong_credentials_get_nothing() {
    let harbor = Harbor::start().await;
    harbor.project("proj").await;
    let created = harbor.robot("gated", &["proj"], 30).await;
    let secret = created["secret"].as_str().expect("secret").to_string();
    let controls = harbor.controls();
    let scope = ["repository:proj/app:pull"];

    controls.set_disabled("robot$gated", true).expect("disable");
    let answer = token(&harbor, Some(("robot$gated", secret.as_str())), &scope).await;
    assert_eq!(granted(&harbor, &answer), vec![nothing("proj/app")]);
    let (_, claims) = verify(&harbor, answer.body["token"].as_str().expect("token"));
    // Harbor treats a disabled robot as anonymous: no subject.
    assert!(claims.get("sub").is_none());
    // Without a scope (docker login) anonymous is refused.
    let login = token(&harbor, Some(("robot$gated", secret.as_str())), &[]).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login.text, "");
    controls.set_disabled("robot$gated", false).expect("enable");
    let login = token(&harbor, Some(("robot$gated", secret.as_str())), &[]).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(
        login.body.pointer("/token").map(Value::is_string),
        Some(true)
    );

    // Expired.
    controls.set_expires_at("robot$gated", 1).expect("expire");
    let answer = token(&harbor, Some(("robot$gated", secret.as_str())), &scope).await;
    assert_eq!(granted(&harbor, &answer), vec![nothing("proj/app")]);
    controls.set_expires_at("robot$gated", -1).expect("never");
    let answer = token(&harbor, Some(("robot$gated", secret.as_str())), &scope).await;
    assert_eq!(granted(&harbor, &answer), vec![pull("proj/app")]);

    // Wrong secret, unknown robot, no credentials.
    for user in [
        Some(("robot$gated", "Wrong1234")),
        Some(("robot$nobody", "Secret123")),
        None,
    ] {
        let answer = token(&harbor, user, &scope).await;
        assert_eq!(
            granted(&harbor, &answer),
            vec![nothing("proj/app")],
            "{user:?}"
        );
        let login = token(&harbor, user, &[]).await;
        assert_eq!(login.status, StatusCode::UNAUTHORIZED, "{user:?}");
    }
    // Deleted.
    assert!(controls.delete_robot_by_name("robot$gated"));
    let answer = token(&harbor, Some(("robot$gated", secret.as_str())), &scope).await;
    assert_eq!(granted(&harbor, &answer), vec![nothing("proj/app")]);
    harbor.assert_no_violations();
}

#[tokio::test]
async fn admin_project_robots_and_services() {
    let harbor = Harbor::start().await;
    harbor.project("proj").await;
    // The admin may do everything on existing projects.
    let answer = token(
        &harbor,
        Some(("admin", "Harbor12345")),
        &["repository:proj/app:pull"],
    )
    .await;
    assert_eq!(
        granted(&harbor, &answer),
        vec![(
            "proj/app".to_string(),
            vec![
                "pull".into(),
                "push".into(),
                "delete".into(),
                "scanner-pull".into()
            ]
        )]
    );
    // A project robot with push may pull too.
    let mut body = robot_create("pusher", &["proj"], 1);
    body["level"] = json!("project");
    body["permissions"][0]["access"] = json!([{"resource": "repository", "action": "push"}]);
    let created = harbor.post("/robots", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let secret = created.body["secret"].as_str().expect("secret").to_string();
    let answer = token(
        &harbor,
        Some(("robot$proj+pusher", secret.as_str())),
        &["repository:proj/app:push"],
    )
    .await;
    assert_eq!(
        granted(&harbor, &answer),
        vec![("proj/app".to_string(), vec!["pull".into(), "push".into()])]
    );
    // Only Harbor's service name is served.
    let other = harbor
        .send(harbor.client.get(harbor.standin.token_realm()).query(&[
            ("service", "registry.example"),
            ("scope", "repository:proj/app:pull"),
        ]))
        .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    assert_eq!(other.text, "Unable to handle service: registry.example");
    // Only GET.
    let post = harbor
        .client
        .post(harbor.standin.token_realm())
        .send()
        .await
        .expect("post");
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    let logged = harbor
        .controls()
        .requests()
        .into_iter()
        .filter(|r| r.path == "/service/token")
        .count();
    assert_eq!(logged, 3);
    harbor.assert_no_violations();
}
