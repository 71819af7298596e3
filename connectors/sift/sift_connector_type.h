#ifndef EVALUATECODE_CONNECTORS_SIFT_SIFT_CONNECTOR_TYPE_H_
#define EVALUATECODE_CONNECTORS_SIFT_SIFT_CONNECTOR_TYPE_H_

#include <memory>

#include "connectors/connector_type.h"

namespace evaluatecode::connectors::sift {

// The built-in definition registered as "sift": Sift's v205 Score API.
//
// Operations (scripts: connectors.<name>.<operation>({...})):
//   score       GET  /v205/score/{user_id}?abuse_types=a,b   compute and return the user's scores
//   user_score  GET  /v205/users/{user_id}/score?abuse_types  the latest stored scores, no rescoring
//   rescore     POST /v205/users/{user_id}/score?abuse_types  force a rescore (never retried)
// Parameters: user_id (string, required); abuse_types (string_list, optional: payment_abuse,
// account_abuse, content_abuse, promotion_abuse, account_takeover, legacy).
//
// Config: `type: sift`, `auth.secret_file` (the API key) and optionally `base_url` (default
// https://api.sift.com) and `auth.type`: basic (default; the key as user name, empty password, as
// Sift's v3 APIs take it) or query (`?api_key=`, as sift-python sends it). Setting `operations` is
// an error: the type defines them. Timeout defaults to 2 s, as Sift's Python client.
//
// A body whose `status` is non-zero is a vendor error carrying Sift's `error_message`, whatever
// the HTTP status. Immutable; thread-safe.
std::unique_ptr<ConnectorType> NewSiftConnectorType();

}  // namespace evaluatecode::connectors::sift

#endif  // EVALUATECODE_CONNECTORS_SIFT_SIFT_CONNECTOR_TYPE_H_
