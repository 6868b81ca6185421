/** Sale ids are UUIDs (Postgres uuid). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Order and event ids are ULIDs (made at admission / in the outbox). */
export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
