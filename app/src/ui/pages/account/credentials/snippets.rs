//! The copy-ready snippets of `/account/credentials`: `docker login`, a pull
//! per repository (docker, podman, skopeo), the Kubernetes image pull secret
//! (the `kubectl` command and the Secret YAML) and Helm values. The texts are
//! plain functions (tested below); the secret is filled in only right after
//! a create or rotate, otherwise `<secret>` stands in for it. The
//! credential's limits (products, address ranges) are said above them.
//!
//! A product served through the vendor's pull gateway is pulled from the
//! gateway's host (`pull_host`), so the customer logs in there too
//! (`login_hosts`) and the Kubernetes secret holds both hosts.

use crate::ui::components::copy_button::CopyButton;
use crate::ui::components::widgets::CARD;
use crate::views::{RegistryAccessView, RepositoryView};
use leptos::prelude::*;

/// The name of the Kubernetes Secret the snippets create and refer to.
pub const SECRET_NAME: &str = "portcullis-pull";
pub const SECRET_PLACEHOLDER: &str = "<secret>";

/// Who logs in: a user name, the secret when it was just shown, and the
/// credential's limits in words (`parts::limit_lines`; empty: every
/// product, from anywhere).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    pub username: String,
    pub secret: Option<String>,
    pub limits: Vec<String>,
}

impl Login {
    fn secret(&self) -> &str {
        self.secret.as_deref().unwrap_or(SECRET_PLACEHOLDER)
    }
}

/// Standard base64 with padding (RFC 4648), as Kubernetes wants in `data`.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A registry host named by a loopback address: plain HTTP, which podman
/// and skopeo only use when told (docker allows 127.0.0.0/8 by itself).
fn loopback(host: &str) -> bool {
    host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
}

/// The host a repository is pulled from: the pull gateway's for a product
/// served through it (when the gateway is on), else the registry's.
pub fn pull_host<'a>(access: &'a RegistryAccessView, repo: &RepositoryView) -> &'a str {
    match &access.gateway_host {
        Some(gateway) if repo.via_gateway => gateway,
        _ => &access.host,
    }
}

/// The hosts a customer logs in to, registry first: every host a repository
/// is pulled from (the registry's alone when there is none).
pub fn login_hosts(access: &RegistryAccessView) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    if access.repositories.is_empty() {
        hosts.push(access.host.clone());
    }
    for repo in &access.repositories {
        let host = pull_host(access, repo);
        if !hosts.iter().any(|h| h == host) {
            hosts.push(host.to_owned());
        }
    }
    hosts.sort_by_key(|h| *h != access.host);
    hosts
}

/// The tag the snippets pull: the newest pushed, else `latest`.
pub fn pick_tag(repo: &RepositoryView) -> String {
    repo.tags.first().map_or_else(|| "latest".to_owned(), |t| t.tag.clone())
}

pub fn docker_login(host: &str, login: &Login) -> String {
    format!("docker login {host} -u {}", login.username)
}

pub fn docker_pull(host: &str, repo: &str, tag: &str) -> String {
    format!("docker pull {host}/{repo}:{tag}")
}

/// podman and skopeo, with TLS verification off for a loopback registry.
pub fn podman_skopeo(host: &str, repo: &str, tag: &str, login: &Login) -> String {
    let (tls, src_tls) = if loopback(host) { (" --tls-verify=false", " --src-tls-verify=false") } else { ("", "") };
    let dir = repo.rsplit('/').next().unwrap_or(repo);
    format!(
        "podman login{tls} {host} -u {user}\npodman pull{tls} {host}/{repo}:{tag}\n\n\
         skopeo copy{src_tls} --src-creds {user}:{secret} docker://{host}/{repo}:{tag} oci:{dir}:{tag}",
        user = login.username,
        secret = login.secret(),
    )
}

/// The image pull secret made by kubectl: `docker-registry` for one host;
/// for several (the registry and the pull gateway), a secret of that type
/// from the `.dockerconfigjson` naming them all.
pub fn kubectl_secret(hosts: &[String], login: &Login) -> String {
    match hosts {
        [host] => format!(
            "kubectl create secret docker-registry {SECRET_NAME} \\\n  --docker-server={host} \\\n  --docker-username={} \\\n  --docker-password={}",
            login.username,
            login.secret(),
        ),
        _ => format!(
            "kubectl create secret generic {SECRET_NAME} \\\n  --type=kubernetes.io/dockerconfigjson \\\n  --from-literal=.dockerconfigjson='{}'",
            docker_config_json(hosts, login),
        ),
    }
}

/// The `.dockerconfigjson` of an image pull secret, as kubectl writes it,
/// the same user for every host: with the secret (and `auth`) when it is
/// known, else with the placeholder (a user and password suffice).
pub fn docker_config_json(hosts: &[String], login: &Login) -> String {
    let entry = match &login.secret {
        Some(secret) => {
            let auth = base64(format!("{}:{secret}", login.username).as_bytes());
            serde_json::json!({ "username": login.username, "password": secret, "auth": auth })
        }
        None => serde_json::json!({ "username": login.username, "password": SECRET_PLACEHOLDER }),
    };
    let auths: serde_json::Map<String, serde_json::Value> = hosts.iter().map(|h| (h.clone(), entry.clone())).collect();
    serde_json::json!({ "auths": auths }).to_string()
}

/// The Secret as YAML. With the secret known, `data` holds the base64 of the
/// `.dockerconfigjson`, ready to apply; without it, `stringData` holds the
/// JSON with the placeholder (the API server encodes it on apply).
pub fn secret_yaml(hosts: &[String], login: &Login) -> String {
    let head = format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {SECRET_NAME}\ntype: kubernetes.io/dockerconfigjson\n");
    let config = docker_config_json(hosts, login);
    match &login.secret {
        Some(_) => format!("{head}data:\n  .dockerconfigjson: {}\n", base64(config.as_bytes())),
        None => format!("{head}stringData:\n  .dockerconfigjson: '{config}'\n"),
    }
}

pub fn helm_values(host: &str, repo: &str, tag: &str) -> String {
    format!("imagePullSecrets:\n  - name: {SECRET_NAME}\nimage:\n  repository: {host}/{repo}\n  tag: \"{tag}\"\n")
}

/// "tags: 1.0, latest", or that nothing was pushed yet.
pub fn tags_line(repo: &RepositoryView) -> String {
    if repo.tags.is_empty() {
        "no image pushed yet".into()
    } else {
        format!("tags: {}", repo.tags.iter().map(|t| t.tag.as_str()).collect::<Vec<_>>().join(", "))
    }
}

/// A titled block of text with a Copy button.
#[component]
pub fn CodeBlock(title: &'static str, #[prop(into)] text: Signal<String>, testid: &'static str) -> impl IntoView {
    view! {
        <div class="mt-3">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h4 class="text-sm font-medium text-slate-700">{title}</h4>
                <CopyButton text=text testid=format!("copy-{testid}") name=format!("Copy the snippet: {title}")/>
            </div>
            // Focusable (and named), so a keyboard can scroll a long line.
            <pre tabindex="0" aria-label=title class="mt-1 overflow-x-auto rounded bg-slate-900 p-3 text-xs text-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500" data-testid=testid>{move || text.get()}</pre>
        </div>
    }
}

/// Every snippet for the registry (and the pull gateway, when a product is
/// served through it) and the customer's repositories.
#[component]
pub fn Snippets(access: RegistryAccessView, #[prop(into)] login: Signal<Login>) -> impl IntoView {
    let hosts = StoredValue::new(login_hosts(&access));
    let gateway = access.gateway_host.clone().filter(|g| hosts.with_value(|h| h.contains(g)));
    let known = move || login.get().secret.is_some();
    let logins = hosts
        .get_value()
        .into_iter()
        .map(|host| {
            let (title, testid) = if Some(&host) == gateway.as_ref() && host != access.host {
                ("Docker: log in to the vendor's pull gateway (paste the secret as the password)", "snippet-login-gateway")
            } else {
                ("Docker: log in (paste the secret as the password)", "snippet-login")
            };
            view! { <CodeBlock title text=Signal::derive(move || docker_login(&host, &login.get())) testid/> }
        })
        .collect_view();
    let repositories: Vec<_> = access
        .repositories
        .iter()
        .map(|r| (r.clone(), pull_host(&access, r).to_owned(), r.via_gateway && access.gateway_host.is_some()))
        .collect();
    view! {
        <section class=format!("{CARD} mt-6") data-testid="snippets">
            <h2 class="font-semibold">"Use a credential"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "Registry: "<code class="rounded bg-slate-100 px-1" data-testid="registry-host">{access.host.clone()}</code>". "
                {gateway.map(|g| view! {
                    "Pull gateway: "<code class="rounded bg-slate-100 px-1" data-testid="gateway-host">{g}</code>". "
                })}
                {move || if known() {
                    "The secret just shown is filled in below: copy what you need before you press Done."
                } else {
                    "Replace <secret> with the credential's secret (shown once, when you create or rotate it)."
                }}
            </p>
            {move || {
                let limits = login.get().limits;
                (!limits.is_empty()).then(|| view! {
                    <div class="mt-3 rounded border border-slate-200 bg-slate-50 px-3 py-2 text-sm text-slate-700" data-testid="snippet-limits">
                        <p class="font-medium">"Pulls with this credential are refused outside its limits:"</p>
                        <ul class="mt-1 list-disc pl-5">{limits.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                    </div>
                })
            }}
            <h3 class="mt-5 font-semibold">"Registry log-in"</h3>
            {logins}
            <h3 class="mt-5 font-semibold">"Kubernetes image pull secret"</h3>
            <CodeBlock title="kubectl" text=Signal::derive(move || hosts.with_value(|h| kubectl_secret(h, &login.get()))) testid="snippet-kubectl"/>
            <CodeBlock title="or as YAML (kubectl apply -f)" text=Signal::derive(move || hosts.with_value(|h| secret_yaml(h, &login.get()))) testid="snippet-secret-yaml"/>
            <h3 class="mt-5 font-semibold">"Your repositories"</h3>
            {if repositories.is_empty() {
                view! {
                    <p class="mt-2 text-sm text-slate-600" data-testid="no-repositories">
                        "None right now: you have no product granting access at the moment. See My products."
                    </p>
                }.into_any()
            } else {
                repositories.into_iter().map(|(repo, host, gateway)| view! { <RepositorySnippets repo host gateway login/> }).collect_view().into_any()
            }}
        </section>
    }
}

/// The pulls of one repository from `host`: the registry's, or the pull
/// gateway's (`gateway`) for a product served through it.
#[component]
fn RepositorySnippets(repo: RepositoryView, host: String, gateway: bool, login: Signal<Login>) -> impl IntoView {
    let tag = pick_tag(&repo);
    let pull = docker_pull(&host, &repo.name, &tag);
    let helm = helm_values(&host, &repo.name, &tag);
    let name = repo.name.clone();
    let others = move || podman_skopeo(&host, &name, &tag, &login.get());
    view! {
        <article class="mt-4 border-t border-slate-100 pt-3" data-testid="repository-snippets" data-repository=repo.name.clone()>
            <h4 class="font-mono text-sm font-semibold break-all">{repo.name.clone()}</h4>
            <p class="text-xs text-slate-500">
                {repo.product_name.clone()}" · "<span data-testid="repository-tags">{tags_line(&repo)}</span>
            </p>
            {gateway.then(|| view! {
                <p class="mt-1 text-sm text-slate-600" data-testid="via-gateway">
                    "Pulled through the vendor's pull gateway, which serves the versions your licence covers."
                </p>
            })}
            <CodeBlock title=if gateway { "docker pull (through the vendor's pull gateway)" } else { "docker pull" } text=pull testid="snippet-pull"/>
            <CodeBlock title="podman / skopeo" text=Signal::derive(others) testid="snippet-podman"/>
            <CodeBlock title="Helm values" text=helm testid="snippet-helm"/>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::TagView;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(&[0xfb, 0xff, 0xfe]), "+//+");
    }

    #[test]
    fn snippets_name_host_user_repository_and_tag() {
        let shown = Login { username: "pull-abc".into(), secret: Some("S3cret".into()), limits: vec![] };
        let hidden = Login { username: "pull-abc".into(), secret: None, limits: vec![] };
        let host = ["reg.example.com".to_owned()];
        assert_eq!(docker_login("reg.example.com", &shown), "docker login reg.example.com -u pull-abc");
        assert_eq!(docker_pull("reg.example.com", "acme/widget", "1.0"), "docker pull reg.example.com/acme/widget:1.0");
        assert!(kubectl_secret(&host, &shown).ends_with("--docker-password=S3cret"));
        assert!(kubectl_secret(&host, &hidden).ends_with("--docker-password=<secret>"));
        let config = docker_config_json(&host, &shown);
        assert_eq!(config, r#"{"auths":{"reg.example.com":{"auth":"cHVsbC1hYmM6UzNjcmV0","password":"S3cret","username":"pull-abc"}}}"#);
        let yaml = secret_yaml(&host, &shown);
        assert!(yaml.contains("type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: "), "{yaml}");
        assert!(yaml.ends_with(&format!("{}\n", base64(config.as_bytes()))), "{yaml}");
        assert!(secret_yaml(&host, &hidden).contains(r#"stringData:
  .dockerconfigjson: '{"auths":{"reg.example.com":{"password":"<secret>","username":"pull-abc"}}}'"#));
        let helm = helm_values("reg.example.com", "acme/widget", "1.0");
        assert!(helm.contains("imagePullSecrets:\n  - name: portcullis-pull\n") && helm.contains("repository: reg.example.com/acme/widget\n  tag: \"1.0\""));
        assert!(!podman_skopeo("reg.example.com", "acme/widget", "1.0", &hidden).contains("tls-verify"));
        let local = podman_skopeo("127.0.0.1:5000", "acme/widget", "1.0", &hidden);
        assert!(local.contains("podman pull --tls-verify=false 127.0.0.1:5000/acme/widget:1.0"), "{local}");
        assert!(local.contains("--src-creds pull-abc:<secret> docker://127.0.0.1:5000/acme/widget:1.0 oci:widget:1.0"), "{local}");
    }

    #[test]
    fn the_newest_tag_is_pulled_else_latest() {
        let tag = |t: &str| TagView { tag: t.into(), digest: "sha256:x".into(), pushed_at: String::new() };
        let mut repo = RepositoryView { name: "acme/widget".into(), product_name: "Widget".into(), tags: vec![], via_gateway: false };
        assert_eq!((pick_tag(&repo), tags_line(&repo)), ("latest".into(), "no image pushed yet".into()));
        repo.tags = vec![tag("1.0"), tag("latest")];
        assert_eq!((pick_tag(&repo), tags_line(&repo)), ("1.0".into(), "tags: 1.0, latest".into()));
    }

    #[test]
    fn a_gateway_product_is_pulled_and_logged_in_through_the_gateway() {
        let repo = |name: &str, via_gateway| RepositoryView { name: name.into(), product_name: "Widget".into(), tags: vec![], via_gateway };
        let mut access = RegistryAccessView {
            host: "reg.example.com".into(),
            repositories: vec![repo("acme/licensed", true), repo("acme/widget", false)],
            gateway_host: Some("pull.example.com".into()),
        };
        assert_eq!(pull_host(&access, &access.repositories[0]), "pull.example.com");
        assert_eq!(pull_host(&access, &access.repositories[1]), "reg.example.com");
        let hosts = login_hosts(&access);
        assert_eq!(hosts, ["reg.example.com", "pull.example.com"], "the registry first");
        let hidden = Login { username: "pull-abc".into(), secret: None, limits: vec![] };
        let json = r#"{"auths":{"pull.example.com":{"password":"<secret>","username":"pull-abc"},"reg.example.com":{"password":"<secret>","username":"pull-abc"}}}"#;
        assert_eq!(
            kubectl_secret(&hosts, &hidden),
            format!("kubectl create secret generic portcullis-pull \\\n  --type=kubernetes.io/dockerconfigjson \\\n  --from-literal=.dockerconfigjson='{json}'")
        );
        assert!(secret_yaml(&hosts, &hidden).ends_with(&format!("stringData:\n  .dockerconfigjson: '{json}'\n")));
        let shown = Login { secret: Some("S3cret".into()), ..hidden };
        let config: serde_json::Value = serde_json::from_str(&docker_config_json(&hosts, &shown)).unwrap_or_default();
        assert_eq!(config["auths"]["pull.example.com"]["auth"], "cHVsbC1hYmM6UzNjcmV0");
        assert_eq!(config["auths"]["reg.example.com"]["auth"], "cHVsbC1hYmM6UzNjcmV0");
        // Every repository through the gateway: one host, the gateway's.
        access.repositories.truncate(1);
        assert_eq!(login_hosts(&access), ["pull.example.com"]);
        // The gateway off: the registry, as before.
        access.gateway_host = None;
        assert_eq!(pull_host(&access, &access.repositories[0]), "reg.example.com");
        assert_eq!(login_hosts(&access), ["reg.example.com"]);
        access.repositories.clear();
        assert_eq!(login_hosts(&access), ["reg.example.com"], "no repository: the registry");
    }
}
