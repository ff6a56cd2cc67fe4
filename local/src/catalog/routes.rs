//! The Bedrock control-plane operations over the catalog, on Bedrock's REST-JSON paths:
//! `ListFoundationModels` (`GET /foundation-models`), `GetFoundationModel`
//! (`GET /foundation-models/{modelIdentifier}`), `ListInferenceProfiles`
//! (`GET /inference-profiles`) and `GetInferenceProfile`
//! (`GET /inference-profiles/{inferenceProfileIdentifier}`), with the query names, validation
//! and error codes of the Bedrock API reference, so the unmodified AWS SDKs and CLI can call them.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use quarry::model::{is_foundation_model_identifier, is_inference_profile_identifier};
use serde::Serialize;

use super::Catalog;
use super::data::{
    Customization, FoundationModel, InferenceProfile, InferenceType, Modality, ProfileType,
};
use crate::aws_error::AwsError;

/// Page size of ListInferenceProfiles when the caller gives no `maxResults`.
const DEFAULT_MAX_RESULTS: usize = 1000;
/// The largest `maxResults` the API accepts.
const MAX_RESULTS_LIMIT: usize = 1000;
/// The longest identifier or `nextToken` the API accepts.
const MAX_IDENTIFIER_LEN: usize = 2048;

/// The values each ListFoundationModels filter accepts (API reference, "URI Request Parameters").
const CUSTOMIZATION_FILTERS: &[Customization] =
    &[Customization::FineTuning, Customization::ContinuedPreTraining, Customization::Distillation];
const OUTPUT_MODALITY_FILTERS: &[Modality] =
    &[Modality::Text, Modality::Image, Modality::Embedding];
const INFERENCE_TYPE_FILTERS: &[InferenceType] =
    &[InferenceType::OnDemand, InferenceType::Provisioned];

/// The control-plane routes, with the catalog already applied as state, ready to `.merge()`.
pub fn routes(catalog: Arc<Catalog>) -> Router {
    Router::new()
        .route("/foundation-models", get(list_foundation_models))
        .route("/foundation-models/{*model_identifier}", get(get_foundation_model))
        .route("/inference-profiles", get(list_inference_profiles))
        .route("/inference-profiles/{*inference_profile_identifier}", get(get_inference_profile))
        .with_state(catalog)
}

type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListFoundationModelsResponse<'a> {
    model_summaries: Vec<&'a FoundationModel>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetFoundationModelResponse<'a> {
    model_details: &'a FoundationModel,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListInferenceProfilesResponse<'a> {
    inference_profile_summaries: Vec<&'a InferenceProfile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

async fn list_foundation_models(
    State(catalog): State<Arc<Catalog>>,
    query: QueryPairs,
) -> Result<Response, AwsError> {
    let query = QueryParams::from(query)?;
    let provider = query.get("byProvider").map(check_provider).transpose()?;
    let customization =
        query.enum_value("byCustomizationType", CUSTOMIZATION_FILTERS, |c| c.as_str())?;
    let output_modality =
        query.enum_value("byOutputModality", OUTPUT_MODALITY_FILTERS, |m| m.as_str())?;
    let inference_type =
        query.enum_value("byInferenceType", INFERENCE_TYPE_FILTERS, |t| t.as_str())?;

    let model_summaries = catalog
        .models()
        .iter()
        .filter(|m| provider.is_none_or(|p| is_provider(m, p)))
        .filter(|m| customization.is_none_or(|c| m.spec.customizations_supported.contains(&c)))
        .filter(|m| output_modality.is_none_or(|o| m.spec.output_modalities.contains(&o)))
        .filter(|m| inference_type.is_none_or(|t| m.supports(t)))
        .collect();
    Ok(Json(ListFoundationModelsResponse { model_summaries }).into_response())
}

async fn get_foundation_model(
    State(catalog): State<Arc<Catalog>>,
    identifier: Result<Path<String>, PathRejection>,
) -> Result<Response, AwsError> {
    let identifier = path_identifier(identifier, "modelIdentifier")?;
    if !is_foundation_model_identifier(&identifier) {
        return Err(constraint_error(
            &identifier,
            "modelIdentifier",
            "Member must satisfy regular expression pattern: (arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}::foundation-model/[a-z0-9-]{1,63}[.]{1}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2})|([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2})",
        ));
    }
    let model = catalog.model(&identifier).ok_or_else(|| {
        AwsError::not_found(format!(
            "The foundation model {identifier} does not exist in {}.",
            catalog.region()
        ))
    })?;
    Ok(Json(GetFoundationModelResponse { model_details: model }).into_response())
}

async fn list_inference_profiles(
    State(catalog): State<Arc<Catalog>>,
    query: QueryPairs,
) -> Result<Response, AwsError> {
    let query = QueryParams::from(query)?;
    let max_results =
        query.get("maxResults").map(check_max_results).transpose()?.unwrap_or(DEFAULT_MAX_RESULTS);
    let type_filter = query.enum_value("type", ProfileType::ALL, |t| t.as_str())?;
    let matching: Vec<&InferenceProfile> = catalog
        .profiles()
        .iter()
        .filter(|p| type_filter.is_none_or(|t| p.profile_type == t))
        .collect();
    let start = match query.get("nextToken") {
        Some(token) => PageToken::accept(token, type_filter, matching.len())?,
        None => 0,
    };
    let end = start.saturating_add(max_results).min(matching.len());
    let next_token =
        (end < matching.len()).then(|| PageToken { type_filter, offset: end }.encode());
    let page = matching.get(start..end).unwrap_or_default().to_vec();
    Ok(Json(ListInferenceProfilesResponse { inference_profile_summaries: page, next_token })
        .into_response())
}

async fn get_inference_profile(
    State(catalog): State<Arc<Catalog>>,
    identifier: Result<Path<String>, PathRejection>,
) -> Result<Response, AwsError> {
    let identifier = path_identifier(identifier, "inferenceProfileIdentifier")?;
    if !is_inference_profile_identifier(&identifier) {
        return Err(constraint_error(
            &identifier,
            "inferenceProfileIdentifier",
            "Member must satisfy regular expression pattern: (arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):(inference-profile|application-inference-profile)/)?[a-zA-Z0-9-:.]+",
        ));
    }
    let profile = catalog.profile(&identifier).ok_or_else(|| {
        AwsError::not_found(format!(
            "The inference profile {identifier} does not exist in {}.",
            catalog.region()
        ))
    })?;
    Ok(Json(profile).into_response())
}

/// The query string as name/value pairs; a repeated name uses its first value.
struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    fn from(query: QueryPairs) -> Result<Self, AwsError> {
        query.map(|Query(pairs)| QueryParams(pairs)).map_err(|rejection| {
            AwsError::validation(format!("The query string could not be read: {rejection}"))
        })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The parameter as one of `allowed`, or a ValidationException listing them.
    fn enum_value<T: Copy>(
        &self,
        name: &str,
        allowed: &[T],
        as_str: fn(T) -> &'static str,
    ) -> Result<Option<T>, AwsError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        allowed.iter().copied().find(|v| as_str(*v) == value).map(Some).ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|v| as_str(*v)).collect();
            constraint_error(
                value,
                name,
                &format!("Member must satisfy enum value set: [{}]", names.join(", ")),
            )
        })
    }
}

/// An error in the words AWS uses for a request member that breaks a constraint.
fn constraint_error(value: &str, member: &str, constraint: &str) -> AwsError {
    AwsError::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

fn path_identifier(
    identifier: Result<Path<String>, PathRejection>,
    member: &str,
) -> Result<String, AwsError> {
    let Path(identifier) = identifier.map_err(|rejection| {
        AwsError::validation(format!("The {member} could not be read: {rejection}"))
    })?;
    if identifier.is_empty() || identifier.len() > MAX_IDENTIFIER_LEN {
        return Err(constraint_error(
            &identifier,
            member,
            "Member must have length less than or equal to 2048 and greater than or equal to 1",
        ));
    }
    Ok(identifier)
}

/// `byProvider` must match `[A-Za-z0-9- ]{1,63}`.
fn check_provider(provider: &str) -> Result<&str, AwsError> {
    let valid = (1..=63).contains(&provider.len())
        && provider.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ');
    if valid {
        Ok(provider)
    } else {
        Err(constraint_error(
            provider,
            "byProvider",
            "Member must satisfy regular expression pattern: [A-Za-z0-9- ]{1,63}",
        ))
    }
}

/// A model belongs to a provider named by its provider name (`Anthropic`, `Mistral AI`) or by its
/// model-id prefix (`anthropic`, `mistral`), compared case-insensitively.
fn is_provider(model: &FoundationModel, provider: &str) -> bool {
    model.spec.provider_name.eq_ignore_ascii_case(provider)
        || model.provider_key().eq_ignore_ascii_case(provider)
}

/// `maxResults` must be an integer from 1 to 1000.
fn check_max_results(value: &str) -> Result<usize, AwsError> {
    let number: i64 = value
        .parse()
        .map_err(|_| constraint_error(value, "maxResults", "Member must be an integer"))?;
    if number < 1 {
        return Err(constraint_error(
            value,
            "maxResults",
            "Member must have value greater than or equal to 1",
        ));
    }
    usize::try_from(number).ok().filter(|n| *n <= MAX_RESULTS_LIMIT).ok_or_else(|| {
        constraint_error(value, "maxResults", "Member must have value less than or equal to 1000")
    })
}

/// Where the next ListInferenceProfiles page starts. Opaque to callers (base64url), and bound to
/// the `type` filter it was issued under so it cannot be replayed against another listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PageToken {
    type_filter: Option<ProfileType>,
    offset: usize,
}

impl PageToken {
    const PREFIX: &'static str = "quarry-local/inference-profiles/v1";

    fn encode(&self) -> String {
        let filter = self.type_filter.map_or("*", ProfileType::as_str);
        URL_SAFE_NO_PAD.encode(format!("{}/{filter}/{}", Self::PREFIX, self.offset))
    }

    fn decode(token: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let rest = text.strip_prefix(Self::PREFIX)?.strip_prefix('/')?;
        let (filter, offset) = rest.split_once('/')?;
        let type_filter = match filter {
            "*" => None,
            name => Some(ProfileType::parse(name)?),
        };
        Some(PageToken { type_filter, offset: offset.parse().ok()? })
    }

    /// The offset of a `nextToken` issued for this filter over a listing of `total` profiles.
    fn accept(
        token: &str,
        type_filter: Option<ProfileType>,
        total: usize,
    ) -> Result<usize, AwsError> {
        let well_formed = !token.is_empty()
            && token.len() <= MAX_IDENTIFIER_LEN
            && !token.chars().any(char::is_whitespace);
        if !well_formed {
            return Err(constraint_error(
                token,
                "nextToken",
                "Member must have length between 1 and 2048 and satisfy regular expression pattern: \\S*",
            ));
        }
        PageToken::decode(token)
            .filter(|page| page.type_filter == type_filter && (1..total).contains(&page.offset))
            .map(|page| page.offset)
            .ok_or_else(|| AwsError::validation("The nextToken is not valid for this request. Use a token from the previous page of the same listing."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_token_round_trips_and_is_opaque() {
        let token = PageToken { type_filter: Some(ProfileType::SystemDefined), offset: 7 };
        let encoded = token.encode();
        assert!(!encoded.contains("SYSTEM_DEFINED"), "{encoded}");
        assert_eq!(PageToken::decode(&encoded), Some(token));
        assert_eq!(
            PageToken::accept(&encoded, Some(ProfileType::SystemDefined), 20).expect("valid"),
            7
        );
    }

    #[test]
    fn a_page_token_is_refused_for_another_filter_a_shorter_listing_or_when_forged() {
        let encoded = PageToken { type_filter: None, offset: 7 }.encode();
        assert!(PageToken::accept(&encoded, Some(ProfileType::SystemDefined), 20).is_err());
        assert!(PageToken::accept(&encoded, None, 7).is_err());
        assert!(PageToken::accept("bm90LWEtdG9rZW4", None, 20).is_err());
        assert!(PageToken::accept("not a token", None, 20).is_err());
        let error = PageToken::accept("", None, 20).expect_err("empty");
        assert_eq!(error.code, "ValidationException");
    }

    #[test]
    fn max_results_must_be_an_integer_from_1_to_1000() {
        assert_eq!(check_max_results("1").expect("1"), 1);
        assert_eq!(check_max_results("1000").expect("1000"), 1000);
        for (bad, words) in [
            ("0", "greater than or equal to 1"),
            ("1001", "less than or equal to 1000"),
            ("ten", "integer"),
        ] {
            let error = check_max_results(bad).expect_err(bad);
            assert!(error.message.contains(words), "{}", error.message);
            assert!(
                error.message.starts_with("1 validation error detected: Value"),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn providers_match_by_name_or_id_prefix_ignoring_case() {
        let catalog = Catalog::builtin("us-east-1").expect("catalog");
        let mistral = catalog.model("mistral.mistral-7b-instruct-v0:2").expect("Mistral 7B");
        for name in ["Mistral AI", "mistral ai", "mistral", "MISTRAL"] {
            assert!(is_provider(mistral, name), "{name}");
        }
        assert!(!is_provider(mistral, "Meta"));
        assert!(check_provider("Stability AI").is_ok());
        assert!(check_provider("anthropic;drop").is_err());
    }
}
