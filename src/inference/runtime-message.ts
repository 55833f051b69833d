// onnxruntime's error text, made fit to store, log and show. The text is partly the model's own
// (node names, external-data paths: a publisher controls them and can make them 60,000
// characters long), so everything here runs in time linear in its length, on a capped prefix:
// no regular expression with nested or adjacent quantifiers that can backtrack over it.

/** Of a message, at most this much is ever looked at (the rest is dropped before any work). */
export const RUNTIME_MESSAGE_SCAN_CHARS = 8192;
/** Longest reason or detail kept (stored as a version's statusReason, a prediction's errorMessage). */
export const RUNTIME_MESSAGE_MAX_CHARS = 500;
/** A single word longer than this (a path, usually) keeps its head and tail only. */
const MAX_WORD_CHARS = 120;

export type CleanOptions = {
  /** Text to replace wherever it appears (the server's own paths), longest first. */
  replace?: readonly (readonly [from: string, to: string])[];
  /** Keep only the first line (onnxruntime puts the message there; the rest is context). */
  firstLineOnly?: boolean;
  maxChars?: number;
};

/**
 * onnxruntime's message minus what means nothing to a client and maps out the server: C++
 * source locations and signatures ("/onnxruntime_src/…/model.cc:180 onnxruntime::Model::Model(…) "),
 * "Load model from <path> failed:", resolved paths, and the server's own paths; words longer
 * than 120 characters shortened, whitespace collapsed, and the whole capped.
 */
export function cleanRuntimeMessage(raw: unknown, options: CleanOptions = {}): string {
  let text = (raw instanceof Error ? raw.message : String(raw)).slice(0, RUNTIME_MESSAGE_SCAN_CHARS);
  if (options.firstLineOnly ?? true) {
    const nl = text.indexOf('\n');
    if (nl >= 0) text = text.slice(0, nl);
  }
  // A template literal: test/deploy's import scanner would read the quoted form as an import.
  text = cutBetween(text, `Load model from `, ' failed:', '');
  text = cutBetween(text, ' resolved path: "', '"', '');
  // split/join is a plain substring search: linear, whatever the text holds.
  for (const [from, to] of options.replace ?? []) if (from) text = text.split(from).join(to);
  const words = dropSourceLocations(text.split(/\s+/));
  return cap(words.map(shortenWord).join(' ').trim(), options.maxChars ?? RUNTIME_MESSAGE_MAX_CHARS);
}

/**
 * onnxruntime's ways of saying an allocation failed (its arena, `new` throwing under RLIMIT_AS),
 * and V8's. Tested on a capped message: no backtracking.
 */
export const isAllocationFailure = (message: string): boolean =>
  /bad_alloc|Failed to allocate|out of memory|Allocation failed|Cannot allocate memory/i.test(message);

/** Caps a string, marking the cut. */
export function cap(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 1))}…`;
}

// Removes every `start…end` span (the end marker included), scanning left to right once.
function cutBetween(text: string, start: string, end: string, replacement: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const s = text.indexOf(start, from);
    if (s < 0) break;
    const e = text.indexOf(end, s + start.length);
    if (e < 0) break;
    out += text.slice(from, s) + replacement;
    from = e + end.length;
  }
  return from === 0 ? text : out + text.slice(from);
}

// "file.cc:123", "/onnxruntime_src/onnxruntime/core/graph/model.cc:180": a C++ source location.
export function isSourceLocation(word: string): boolean {
  const colon = word.lastIndexOf(':');
  if (colon <= 0 || colon === word.length - 1) return false;
  for (let i = colon + 1; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  const file = word.slice(0, colon);
  return file.endsWith('.cc') || file.endsWith('.cpp') || file.endsWith('.h') || file.endsWith('.hpp');
}

const startsUpper = (w: string | undefined) => !!w && w.charCodeAt(0) >= 65 && w.charCodeAt(0) <= 90;
// A word of a C++ return type before the function's name: "void*", "const", "std::string&",
// "onnxruntime::common::Status". A capitalised word without "::" is the message starting.
const looksLikeCppType = (w: string) => w.length <= 200 && (w.includes('::') || !startsUpper(w));
const LOOKAHEAD_WORDS = 4;
const MAX_SIGNATURE_WORDS = 64;

/**
 * After a source location onnxruntime prints the function: a C++ signature running to its
 * closing parenthesis ("void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool) "), or
 * a bare name ("ValidateExternalDataPathFromDir") before the message's first capitalised word.
 * Each word is looked at a bounded number of times.
 */
function dropSourceLocations(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (!isSourceLocation(words[i])) {
      out.push(words[i]);
      continue;
    }
    let open = -1;
    for (let j = i + 1; j < words.length && j <= i + LOOKAHEAD_WORDS; j++) {
      if (words[j].includes('(')) {
        open = j;
        break;
      }
      if (!looksLikeCppType(words[j])) break;
    }
    if (open >= 0) {
      // A signature that does not close within its bounded length is not one: keep the words.
      let depth = 0;
      for (let j = open; j < words.length && j < open + MAX_SIGNATURE_WORDS; j++) {
        for (const ch of words[j]) {
          if (ch === '(') depth++;
          else if (ch === ')') depth--;
        }
        if (depth <= 0) {
          i = j;
          break;
        }
      }
    } else {
      const next = words[i + 1];
      if (next && next.length <= 200 && /^[A-Za-z_][\w:~]*$/.test(next) && startsUpper(words[i + 2])) i += 1;
    }
  }
  return out;
}

function shortenWord(word: string): string {
  if (word.length <= MAX_WORD_CHARS) return word;
  return `${word.slice(0, 60)}…${word.slice(-40)}`;
}
