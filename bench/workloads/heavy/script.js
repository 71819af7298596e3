// Workload 2 (CPU-heavy): string, regex and array work over 200 transactions (input.json, made by
// generate.py): normalise merchants, e-mails and currencies, validate with regular expressions,
// group and sort, find amount outliers, keyword hits and the densest one-minute burst.
var txs = input.transactions;
var emailRe = /^[a-z0-9._%+-]+@([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})$/;
var ipRe = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
var cardRe = /^(\d{6})\*{6}(\d{4})$/;
var disposable = ['mailinator.com', 'trashmail.com', 'guerrillamail.com'];
var riskyWords = {gift: 2, crypto: 3, wallet: 2, voucher: 1, refund: 1};

var byMerchant = {}, byEmail = {}, byCard = {}, domains = {}, currencies = {};
var amounts = [], times = [], invalidEmails = 0, disposableHits = 0, privateIps = 0, wordScore = 0;
for (var i = 0; i < txs.length; i++) {
  var t = txs[i];
  var merchant = t.merchant.toLowerCase().replace(/[^a-z0-9]+/g, ' ').replace(/\s+\d+$/, '').trim();
  (byMerchant[merchant] = byMerchant[merchant] || []).push(t.amount);
  var email = t.email.trim().toLowerCase();
  var m = emailRe.exec(email);
  if (!m) {
    invalidEmails++;
  } else {
    domains[m[1]] = (domains[m[1]] || 0) + 1;
    if (disposable.indexOf(m[1]) >= 0) disposableHits++;
    var local = email.split('@')[0].replace(/\.[a-z]$/, '');
    byEmail[local] = (byEmail[local] || 0) + 1;
  }
  var ip = ipRe.exec(t.ip);
  if (ip && (ip[1] === '10' || (ip[1] === '192' && +ip[2] === 168))) privateIps++;
  var card = cardRe.exec(t.card);
  if (card) byCard[card[1] + ':' + card[2]] = (byCard[card[1] + ':' + card[2]] || 0) + 1;
  var currency = t.currency.trim().toUpperCase();
  currencies[currency] = (currencies[currency] || 0) + 1;
  t.description.toLowerCase().split(/\s+/).forEach(function (w) {
    if (riskyWords.hasOwnProperty(w)) wordScore += riskyWords[w];
  });
  amounts.push(t.amount);
  times.push(Date.parse(t.time));
}

amounts.sort(function (a, b) { return a - b; });
var median = amounts[amounts.length >> 1];
var outliers = amounts.filter(function (a) { return a > 20 * median; }).length;
times.sort(function (a, b) { return a - b; });
var burst = 0;
for (var lo = 0, hi = 0; hi < times.length; hi++) {
  while (times[hi] - times[lo] > 60000) lo++;
  if (hi - lo + 1 > burst) burst = hi - lo + 1;
}
var merchants = Object.keys(byMerchant).map(function (name) {
  var list = byMerchant[name];
  return {name: name, n: list.length, total: list.reduce(function (s, a) { return s + a; }, 0)};
}).sort(function (a, b) { return b.total - a.total || (a.name < b.name ? -1 : 1); });
var sharedEmails = Object.keys(byEmail).filter(function (k) { return byEmail[k] > 5; }).length;

var reasons = [];
if (burst > 10) reasons.push('velocity_burst:' + burst);
if (invalidEmails > 0) reasons.push('invalid_emails:' + invalidEmails);
if (disposableHits > 30) reasons.push('disposable_emails:' + disposableHits);
if (outliers > 0) reasons.push('amount_outliers:' + outliers);
if (wordScore > 500) reasons.push('risky_descriptions:' + wordScore);
reasons.push('top_merchant:' + merchants[0].name);
return {
  decision: reasons.length > 4 ? 'decline' : reasons.length > 1 ? 'review' : 'approve',
  reasons: reasons,
  stats: {merchants: merchants.length, currencies: Object.keys(currencies).length,
          privateIps: privateIps, sharedEmails: sharedEmails, cards: Object.keys(byCard).length}
};
