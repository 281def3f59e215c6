#!/usr/bin/env bash
# Supply chain gate (issue 6 §5): fails when a production dependency has a known
# vulnerability of high or critical severity (`npm audit --omit=dev --audit-level=high`).
# Dev dependencies (bench peers, profilers, the test runner) never ship and are not gated.
# The lockfile pins every version: CI installs with `npm ci`, exactly package-lock.json.
#
# Exit codes: 0 clean; 1 high/critical advisories (or no lockfile); 3 the registry's
# advisory endpoint could not be reached, so nothing was verified. Set
# AUDIT_ALLOW_UNAVAILABLE=1 to turn 3 into a warning (offline mirrors that do not proxy
# POST /-/npm/v1/security/advisories/bulk).
#
# Documented exceptions: none. To accept one, add its advisory id (GHSA-…) to
# ALLOWED_ADVISORIES with a comment saying why it does not apply and until when.
set -uo pipefail
cd "$(dirname "$0")/.."

ALLOWED_ADVISORIES=(
)

if [ ! -f package-lock.json ]; then
  echo "audit: package-lock.json is missing: versions are not pinned" >&2
  exit 1
fi

report=$(npm audit --omit=dev --json 2>/dev/null)
printf '%s' "$report" | node -e '
const allowed = new Set(process.argv.slice(1));
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  let report;
  try {
    report = JSON.parse(input);
  } catch {
    report = { error: { summary: "npm audit printed no JSON" } };
  }
  if (report.error || (report.statusCode && !report.vulnerabilities)) {
    const why = report.message || report.error?.summary || report.error?.code || "unknown error";
    console.error(`audit: could not query the advisory database (${why}); nothing was verified`);
    process.exit(3);
  }
  const bad = [];
  const allowedSeen = [];
  for (const [name, v] of Object.entries(report.vulnerabilities ?? {})) {
    for (const via of v.via ?? []) {
      if (typeof via !== "object" || !["high", "critical"].includes(via.severity)) continue;
      const id = String(via.url ?? "").split("/").pop();
      (allowed.has(id) ? allowedSeen : bad).push(`${name}: ${via.title} (${via.severity}, ${via.url})`);
    }
  }
  for (const a of allowedSeen) console.log(`audit: allowed exception ${a}`);
  const m = report.metadata?.vulnerabilities ?? {};
  console.log(`audit: production dependencies: ${report.metadata?.dependencies?.prod ?? "?"}; advisories ${JSON.stringify(m)}`);
  if (bad.length > 0) {
    console.error(`audit: ${bad.length} high/critical advisories in production dependencies:\n  ${bad.join("\n  ")}`);
    process.exit(1);
  }
  console.log("audit: no high/critical advisories in production dependencies");
});
' "${ALLOWED_ADVISORIES[@]}"
status=$?
if [ "$status" -eq 3 ] && [ "${AUDIT_ALLOW_UNAVAILABLE:-0}" = "1" ]; then
  echo "audit: WARNING: advisory database unreachable; continuing because AUDIT_ALLOW_UNAVAILABLE=1" >&2
  exit 0
fi
exit "$status"
