/** Trimmed, Unicode-normalised and lower-cased: the one form stored and looked up. */
export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}
