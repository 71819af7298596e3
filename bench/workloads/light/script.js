// Workload 1 (CPU-light): a copy of examples/document-selfie-decision.js, kept here so that the
// benchmark does not move when the example does.
var id = input.verifications.government_id.attributes;
var selfie = input.verifications.selfie.attributes;
var watchlist = input.reports.watchlist.attributes;
var account = input.account;

if (watchlist['has-match']) {
  var lists = watchlist['matched-lists'].map(function (m) { return m.list; });
  return { decision: 'decline', reasons: ['watchlist_match:' + lists.join(',')] };
}

var reasons = [];
if (id.status !== 'passed') reasons.push('government_id_' + id.status);
id.checks.forEach(function (check) {
  if (check.status !== 'passed') reasons.push(check.name);
});
if (selfie.status !== 'passed') reasons.push('selfie_' + selfie.status);
selfie.checks.forEach(function (check) {
  var similarity = check.metadata && check.metadata['similarity-score'];
  if (typeof similarity === 'number' && similarity < 0.6) reasons.push('selfie_similarity_low');
});

var email = input.trigger.inquiry.attributes['email-address'] || '';
var disposableDomains = ['mailinator.com', 'guerrillamail.com', 'trashmail.com'];
if (disposableDomains.indexOf(email.split('@')[1]) >= 0) reasons.push('disposable_email');

var accountAgeDays =
    (Date.parse(input.trigger.inquiry.attributes['created-at']) - Date.parse(account['created-at'])) /
    86400000;
if (accountAgeDays < 1 && account['prior-inquiries'] === 0) reasons.push('new_account');

console.log('checks done', { reasons: reasons.length, accountAgeDays: Math.floor(accountAgeDays) });
return { decision: reasons.length > 0 ? 'review' : 'approve', reasons: reasons };
