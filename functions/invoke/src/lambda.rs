//! The Lambda side of the API: what lambda_http hands over (the invocation's context, API Gateway's
//! request context) turned into the Router's own types, and the request path API Gateway's caller
//! addressed restored before routing.
//!
//! lambda_http puts the API Gateway stage in front of the path (`/{stage}/v1/models` for a REST
//! API's `path` of `/v1/models`, unless `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set), and an HTTP
//! API's named stage is in its `rawPath` already. The Router's routes have no stage, so
//! [`from_lambda`] takes the stage off again.

use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::http::uri::PathAndQuery;
use axum::http::{Request, Uri};
use lambda_http::RequestExt as _;
use lambda_http::request::RequestContext;
use tower::ServiceExt as _;
use tower::util::MapRequest;

use crate::auth::IamCaller;
use crate::extract::Deadline;
use crate::observe::RequestId;

/// The Router as the Lambda runtime serves it.
pub type LambdaService = MapRequest<Router, fn(lambda_http::Request) -> lambda_http::Request>;

/// Wraps the whole `router` (routing included) so every request passes through [`from_lambda`]
/// first: give the result to `lambda_http::run_with_streaming_response`.
pub fn service(router: Router) -> LambdaService {
    router.map_request(from_lambda::<lambda_http::Body> as fn(_) -> _)
}

/// Carries what Lambda and API Gateway know about the invocation into the Router's own types —
/// the deadline, the request id, the caller API Gateway's IAM authorizer verified — and takes the
/// API Gateway stage off the path.
pub fn from_lambda<B>(mut request: Request<B>) -> Request<B> {
    let lambda = request.extensions().lambda_context_ref().cloned();
    if let Some(context) = lambda {
        let deadline = UNIX_EPOCH + Duration::from_millis(context.deadline);
        request.extensions_mut().insert(Deadline(deadline));
        request.extensions_mut().insert(RequestId(context.request_id));
    }
    let caller = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV1(context)) => context.identity.user_arn.clone(),
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .and_then(|iam| iam.user_arn.clone()),
        _ => None,
    };
    if let Some(arn) = caller {
        request.extensions_mut().insert(IamCaller(arn));
    }
    if let Some(uri) = without_stage(&request) {
        *request.uri_mut() = uri;
    }
    request
}

/// The request's URI without the API Gateway stage lambda_http (REST API) or API Gateway itself
/// (an HTTP API's named stage) put in front of the path; `None` when there is none to take off.
fn without_stage<B>(request: &Request<B>) -> Option<Uri> {
    let (stage, stage_added) = match request.extensions().get::<RequestContext>()? {
        // A REST API's `path` never holds the stage: lambda_http added it, unless the path already
        // began with it (then it is the caller's and stays).
        RequestContext::ApiGatewayV1(context) => {
            let stage = context.stage.as_deref()?;
            let raw = request.extensions().raw_http_path();
            (stage, !raw.starts_with(&format!("/{stage}/")))
        }
        // An HTTP API's `rawPath` holds a named stage (never `$default`).
        RequestContext::ApiGatewayV2(context) => (context.stage.as_deref()?, true),
        _ => return None,
    };
    if !stage_added || stage == "$default" || stage.is_empty() {
        return None;
    }
    let uri = request.uri();
    let rest = uri.path().strip_prefix('/')?.strip_prefix(stage)?;
    let path = match rest {
        "" => "/",
        rest if rest.starts_with('/') => rest,
        _ => return None, // `/{stage}x/…`: another path that merely starts like the stage
    };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}
