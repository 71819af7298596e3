// Workload 3 (I/O-bound): one Sift score lookup (bench/run's fake vendor answers after 50 ms with
// a payment_abuse score of 0.93) decides.
var r = connectors.sift.score({user_id: input.user, abuse_types: ['payment_abuse']});
var score = r.body.scores.payment_abuse.score;
return {
  decision: score >= 0.8 ? 'decline' : score >= 0.5 ? 'review' : 'approve',
  reasons: ['sift_score ' + score]
};
