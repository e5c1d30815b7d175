/**
 * What Tillwire relies on from Business Central's API v2.0, in one place: the client, the mapping
 * and the simulator (simulators/business-central) read these facts from here. No Node-RED import.
 */

/** Longest externalDocumentNumber BC stores (Code[35]). */
export const EXTERNAL_DOCUMENT_NUMBER_MAX = 35;
/** Longest item number (Code[20]). */
export const ITEM_NUMBER_MAX = 20;
/** Longest line description (Text[100]). */
export const DESCRIPTION_MAX = 100;

// ---- OData JSON $batch (API v2.0) ------------------------------------------------------------
//
// Sources:
// - Microsoft Learn, "Using OData transactional $batch requests":
//   https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/use-odata-batch
//   `POST …/api/v2.0/$batch`, `Content-Type: application/json`; body `{"requests":[{id, method,
//   url, headers, body}]}`, answer `{"responses":[{id, status, headers, body}]}` with each inner
//   request's own status and BC error envelope. `Isolation: snapshot` runs the whole batch in one
//   transaction: one failed inner request rolls back every other one.
// - Microsoft Learn training, "Work with API limits" (https://learn.microsoft.com/en-us/training/modules/work-with-api/4-limits/):
//   a $batch request can contain at most 100 operations. BC's own refusal reads "The current batch
//   message contains too many parts. A maximum number of '100' query operations and change sets are
//   allowed in a batch message" (quoted in https://demiliani.com/2021/01/12/dynamics-365-business-central-batch-api-calls-and-max-number-of-operations/).
// - Without `Prefer: odata.continue-on-error`, BC stops at the first failed inner request and
//   answers only the ones up to it (https://dynamicsuser.net/nav/b/kauffmann/posts/batch-calls-with-business-central-2-error-handling;
//   confirmed in https://community.dynamics.com/forums/thread/details/?threadid=7cd30c9e-7e58-f011-877a-7c1e521722dc).
// - `$filter` may `or` values of one field; `or` across different fields is refused
//   (https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/odata-known-limitations).
//   The `in` operator only exists from 2024 release wave 1 (BC 24,
//   https://learn.microsoft.com/en-us/dynamics365/release-plan/2024wave1/smb/dynamics365-business-central/use-odata-v4-operator-web-service-queries),
//   so the connector writes `or` chains, which every version reads.
//
// What Tillwire does with these facts (nodes/business-central/sale-batch.ts): never `Isolation:
// snapshot` and no atomicity groups (one bad sale must not undo the others), always
// `Prefer: odata.continue-on-error`, and an inner request with no answer counts as not known to
// have happened (looked up before it is sent again).

/** Most inner requests BC accepts in one `$batch`. */
export const BATCH_MAX_REQUESTS = 100;
/** Asks BC to carry on past a failed inner request (else it stops there). */
export const BATCH_CONTINUE_ON_ERROR = 'odata.continue-on-error';
/** Values `or`-ed in one `$filter` by the connector (the item lookup's chunk size, kept for lookups by key too). */
export const FILTER_MAX_VALUES = 20;
