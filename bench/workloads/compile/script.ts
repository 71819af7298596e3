// Workload 4 (first-sight TypeScript compile): the load generator sends this script to CompileCode
// with __VARY__ replaced by a value unique to each call, so every call misses the compile cache and
// runs TypeScript's transpiler.
interface Check { name: string; status: 'passed' | 'failed'; metadata?: { [key: string]: number } }
interface Verification { status: string; checks: Check[] }
enum Outcome { Approve = 'approve', Review = 'review', Decline = 'decline' }

const VARIANT = '__VARY__';
const failed = (v: Verification): string[] =>
  v.checks.filter((c) => c.status !== 'passed').map((c) => c.name);

const { government_id: id, selfie } = input.verifications as Record<string, { attributes: Verification }>;
const reasons: string[] = [...failed(id.attributes), ...failed(selfie.attributes)];
const similarity = selfie.attributes.checks
  .map((c) => c.metadata?.['similarity-score'])
  .find((s): s is number => typeof s === 'number') ?? 1;
if (similarity < 0.6) reasons.push(`selfie_similarity_low:${similarity}`);
if (input.reports?.watchlist?.attributes?.['has-match']) {
  return { decision: Outcome.Decline, reasons: ['watchlist_match'], variant: VARIANT };
}
return { decision: reasons.length ? Outcome.Review : Outcome.Approve, reasons, variant: VARIANT };
