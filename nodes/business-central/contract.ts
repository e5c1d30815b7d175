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
