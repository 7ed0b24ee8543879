// What the browser checks share: a line per check (the failed ones counted), axe-core run in a page or frame, a
// GraphQL request to the API, and the exit status at the end.
const fs = require('fs');

const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const failures = [];

function check(ok, message) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${message}`);
  if (!ok) failures.push(message);
}

// axe-core's violations in a page or frame (the WCAG 2.1 AA rules and best practices, as its defaults run them).
async function violations(frame) {
  await frame.evaluate(axeSource);
  return frame.evaluate(async () => {
    const r = await window.axe.run(document);
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

async function gql(apiUrl, query, variables, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${apiUrl}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return response.json();
}

// Ends the process: 1 if any check failed.
function finish() {
  if (failures.length > 0) {
    console.error(`${failures.length} check(s) failed`);
    process.exit(1);
  }
}

module.exports = { check, violations, gql, finish };
