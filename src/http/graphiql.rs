//! `/graphiql`: the GraphiQL playground, pointed at `/graphql` for queries and subscriptions.

use async_graphql::http::GraphiQLSource;
use axum::response::Html;

/// The playground page (off in production unless `GRAPHIQL=on`).
pub async fn page() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").subscription_endpoint("/graphql").title("townsquare").finish())
}
