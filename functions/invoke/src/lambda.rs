//! The Lambda side of the API: what lambda_http hands over (the invocation's context, API Gateway's
//! request context) turned into the Router's own types.

use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::http::Request;
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
/// the deadline, the request id, and the caller API Gateway's IAM authorizer verified.
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
    request
}
