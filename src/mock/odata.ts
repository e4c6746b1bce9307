// The emulator's OData query options ($filter, $search, $select, $orderby, $top, $count, $expand,
// $skiptoken): the modules under ./odata/, one per concern (see ./odata/types.ts). Handlers import
// from here.
export * from './odata/types.js';
export { parseQuery, applyQuery, selectProperties, prefixSystemOptions } from './odata/query.js';
export { parseFilter, evaluateFilter } from './odata/filter.js';
export { parseSearch, evaluateSearch, searchTokens } from './odata/search.js';
export { encodeSkiptoken, decodeSkiptoken } from './odata/paging.js';
