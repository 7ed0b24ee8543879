// Walks an RPDE feed with OpenActive's own validator (@openactive/rpde-validator) and prints, as JSON, the pages
// it read and every finding with its severity ("failure" is an error; "warning", "notice" and "suggestion" are not).
// Usage: node rpde.js URL [PAGE_LIMIT]
const { RpdeValidator } = require('@openactive/rpde-validator');

const [url, pageLimit] = process.argv.slice(2);
RpdeValidator(url, { pageLimit: Number(pageLimit || 20), timeoutMs: 10000, logCallback: () => {} })
  .then((log) => {
    const findings = log.pages.flatMap((page) => page.errors.map((e) => ({
      url: page.url, rule: e.rule, severity: e.severity, message: e.message,
    })));
    console.log(JSON.stringify({ pages: log.pages.map((p) => p.url), findings }));
  })
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
