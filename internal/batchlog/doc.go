// Package batchlog is the bounded, asynchronous batch writer behind
// greyrouter's audit trails (login events, privilege decisions): a caller
// records an item without waiting for the database, and a background
// flusher writes the queue in batches, retrying a rejected batch a few
// times before dropping it. Under pressure it drops and counts rather than
// block the request that produced the item or grow without bound.
//
// It knows nothing of what it writes: the domain packages wrap a Writer
// with their own item type and store method. It imports only the standard
// library, so that pure domain packages may use it.
package batchlog
