// Decline when Sift's payment-abuse score is high; review in the grey zone (TypeScript).
// Needs the `sift` connector (examples/fixtures/sift-*.json answer it under `evalctl run`).
const userId: string = input.trigger.inquiry.attributes['reference-id'];
const sift = connectors.sift.score({ user_id: userId, abuse_types: ['payment_abuse'] });
const score: number = sift.body.scores.payment_abuse.score;
const reasons = sift.body.scores.payment_abuse.reasons.map((r: { name: string }) => r.name);

console.info('sift', { userId, score });
if (score >= 0.8) return { decision: 'decline', reasons: [`sift_score ${score}`, ...reasons] };
if (score >= 0.5) return { decision: 'review', reasons: [`sift_score ${score}`] };
return { decision: 'approve', reasons: [] };
