// A lookup through a vendor-agnostic HTTP connector declared in the server config, e.g.
//   connectors:
//     acme:
//       base_url: https://api.acme.example/v2
//       auth: {type: header, header: Authorization, prefix: "Bearer ", secret_file: /secrets/acme}
//       operations:
//         person: {method: GET, path: "/people/{person_id}",
//                  parameters: {person_id: {type: string, required: true}}}
// (ECMAScript 5; a failed call is caught and sends the inquiry to review.)
var personId = input.account['reference-id'];
var person;
try {
  person = connectors.acme.person({ person_id: personId }).body;
} catch (e) {
  if (e.name !== 'ConnectorError') throw e;
  return { decision: 'review', reasons: ['acme_unavailable:' + e.reason] };
}
if (person.risk_level === 'high') return { decision: 'decline', reasons: ['acme_high_risk'] };
return { decision: 'approve', reasons: [] };
