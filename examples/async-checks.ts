// async/await and destructuring: vendor score and document checks combined (TypeScript).
interface Check { name: string; status: 'passed' | 'failed'; reasons: string[] }

const failed = (checks: Check[]): string[] =>
  checks.filter(({ status }) => status !== 'passed').map(({ name }) => name);

async function siftScore(userId: string): Promise<number> {
  const { body } = await connectors.sift.score({ user_id: userId, abuse_types: ['payment_abuse'] });
  return body.scores?.payment_abuse?.score ?? 0;
}

const {
  trigger: { inquiry: { attributes: { 'reference-id': userId } } },
  verifications: { government_id: id, selfie },
} = input;

const [score, documentIssues] = await Promise.all([
  siftScore(userId),
  Promise.resolve([...failed(id.attributes.checks), ...failed(selfie.attributes.checks)]),
]);
const reasons = [...documentIssues, ...(score >= 0.8 ? [`sift_score ${score}`] : [])];
return { decision: score >= 0.8 ? 'decline' : reasons.length ? 'review' : 'approve', reasons };
