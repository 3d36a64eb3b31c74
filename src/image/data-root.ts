// The image store's files that `run IMAGE`'s fast path needs without loading
// the store (where the store is, --data-root or its default, is the caller's:
// RuntimeContext.dataRoot).

/** the store's image list (names -> images): src/image/store.ts owns it, launch-cache.ts watches it */
/**
 * DATA_ROOT ending in one "/", for a name to follow.  Not path.join nor a
 * regular expression: this is on run IMAGE's hot path, where the first call
 * of either costs a few tenths of a millisecond.
 */
export function underRoot(dataRoot: string): string {
  let end = dataRoot.length;
  while (end > 1 && dataRoot.charCodeAt(end - 1) === 47 /* / */) end--;
  return `${dataRoot.slice(0, end)}/`;
}

export function imagesFile(dataRoot: string): string {
  return `${underRoot(dataRoot)}images.json`;
}
