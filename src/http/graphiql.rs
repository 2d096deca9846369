//! GraphiQL at `/`, wired for queries, mutations and subscriptions over
//! `/graphql/ws`. Assets come from a CDN unless `--graphiql-assets DIR` is
//! set, in which case orgraph serves them from DIR.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::http::AppState;

const CDN: &str = "https://unpkg.com";

const DEFAULT_QUERY: &str = r#"# Welcome to orgraph.
#
# 1. Get a token (an admin is created with `orgraph create-admin --email you@example.com`):
#      curl -s -X POST http://HOST/oauth/token \
#        -d grant_type=password -d username=you@example.com -d 'password=…'
# 2. Open "Headers" below and paste:
#      {"Authorization": "Bearer <access_token>"}
# 3. Run this query with the ▶ button.
query Viewer {
  viewer {
    id
    email
    memberships(first: 10) {
      nodes { role organization { handle name plan { name seatLimit } } }
    }
  }
}
"#;

fn page_html(state: &AppState) -> String {
    let local = state.services.config.graphiql_assets.is_some();
    let (react, react_dom, graphiql_js, graphiql_css, graphql_ws) = if local {
        (
            "/graphiql/assets/react.production.min.js".to_string(),
            "/graphiql/assets/react-dom.production.min.js".to_string(),
            "/graphiql/assets/graphiql.min.js".to_string(),
            "/graphiql/assets/graphiql.min.css".to_string(),
            "/graphiql/assets/graphql-ws.min.js".to_string(),
        )
    } else {
        (
            format!("{CDN}/react@18/umd/react.production.min.js"),
            format!("{CDN}/react-dom@18/umd/react-dom.production.min.js"),
            format!("{CDN}/graphiql@3/graphiql.min.js"),
            format!("{CDN}/graphiql@3/graphiql.min.css"),
            format!("{CDN}/graphql-ws@5/umd/graphql-ws.min.js"),
        )
    };
    let default_query = serde_json::to_string(DEFAULT_QUERY).unwrap_or_else(|_| "\"\"".into());
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>orgraph · GraphiQL</title>
<link rel="stylesheet" href="{graphiql_css}">
<style>html,body,#graphiql{{height:100%;margin:0;}}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="{react}" crossorigin></script>
<script src="{react_dom}" crossorigin></script>
<script src="{graphql_ws}" crossorigin></script>
<script src="{graphiql_js}" crossorigin></script>
<script>
(function () {{
  var loc = window.location;
  var wsUrl = (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/graphql/ws';
  var headersText = '{{}}';
  function currentHeaders() {{
    try {{ return JSON.parse(headersText || '{{}}'); }} catch (e) {{ return {{}}; }}
  }}
  var wsClient = graphqlWs.createClient({{
    url: wsUrl,
    lazy: true,
    // A refused connection_init (4403: missing or bad bearer) cannot succeed
    // on retry; failing at once shows the refusal instead of a long spinner.
    shouldRetry: function (e) {{ return !(e && e.code === 4403); }},
    connectionParams: function () {{
      var h = currentHeaders();
      return {{ Authorization: h.Authorization || h.authorization || '' }};
    }}
  }});
  var fetcher = GraphiQL.createFetcher({{ url: '/graphql', wsClient: wsClient }});
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {{
    fetcher: fetcher,
    defaultQuery: {default_query}.replace(/HOST/g, loc.host),
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    onEditHeaders: function (text) {{ headersText = text; }}
  }}));
}})();
</script>
</body>
</html>"#
    )
}

pub async fn page(State(state): State<AppState>) -> Response {
    let mut res = Html(page_html(&state)).into_response();
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let csp = if state.services.config.graphiql_assets.is_some() {
        // GraphiQL 3's stylesheet inlines its fonts as data: URLs.
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'"
    } else {
        "default-src 'self'; script-src 'self' 'unsafe-inline' https://unpkg.com; style-src 'self' 'unsafe-inline' https://unpkg.com; img-src 'self' data:; font-src 'self' data: https://unpkg.com; connect-src 'self' ws: wss:; frame-ancestors 'none'"
    };
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// Serve a file from `--graphiql-assets` (flat names only; no traversal).
pub async fn asset(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    let Some(dir) = state.services.config.graphiql_assets.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if path.contains("..") || path.contains('/') || path.contains('\\') {
        return StatusCode::NOT_FOUND.into_response();
    }
    let ct = if path.ends_with(".css") {
        "text/css; charset=utf-8"
    } else if path.ends_with(".js") {
        "application/javascript; charset=utf-8"
    } else {
        "application/octet-stream"
    };
    match tokio::fs::read(dir.join(&path)).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, ct)], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
