//! The HTML report: one self-contained file (inline CSS, inline JS, inline SVG; no external
//! assets, no network), readable without JavaScript. With JavaScript the vulnerability and
//! package tables sort by any column (click a header); they start sorted by severity and
//! ecosystem.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::run::{Report, Status};

/// Severities in display order, with their colours (WCAG AA contrast on white text).
const SEVERITIES: [(&str, &str); 5] = [
    ("critical", "#8e0000"),
    ("high", "#c62828"),
    ("medium", "#b35c00"),
    ("low", "#1565c0"),
    ("unknown", "#616161"),
];

const CSS: &str = r#"
:root{--fg:#1d2430;--muted:#5b6575;--line:#dde2ea;--ok:#1b7f3b;--bad:#b3261e;--bg:#f6f8fb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#10233f;color:#fff;padding:20px 32px}
header h1{margin:0 0 4px;font-size:20px;font-weight:600}
header .sub{color:#b9c6da;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
main{max-width:1100px;margin:0 auto;padding:20px 32px 48px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:16px;margin:0 0 12px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;font-size:12px;color:#fff}
.pass{background:var(--ok)}.fail{background:var(--bad)}.skip{background:#8a94a6}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;white-space:nowrap}
th.sortable{cursor:pointer;user-select:none}
th.sortable::after{content:" \2195";color:#b0b8c6}
th[aria-sort=ascending]::after{content:" \2191";color:var(--fg)}
th[aria-sort=descending]::after{content:" \2193";color:var(--fg)}
td.mono,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.sev{display:inline-block;min-width:64px;text-align:center;border-radius:4px;color:#fff;font-size:12px;padding:1px 6px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px}
.kv{border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.kv .k{color:var(--muted);font-size:12px}.kv .v{font-size:18px;font-weight:600}
.kv .v.mono{font-size:12px;font-weight:500}
tr.stage-fail td{background:#fdecea}
.muted{color:var(--muted)}
code{background:#eef1f6;border-radius:4px;padding:1px 4px;font-size:12px}
pre{background:#0f1b2d;color:#e6edf7;padding:10px 12px;border-radius:6px;overflow-x:auto;font-size:12px}
"#;

/// Sorting: every `table.sortable` sorts by a clicked header; cells may carry `data-sort`
/// (numbers or severity ranks). Tables with `data-initial-sort="N:desc"` start sorted.
const JS: &str = r#"
(function(){
  function key(td){var s=td.getAttribute('data-sort');var t=s!==null?s:td.textContent.trim();var n=parseFloat(t);return isNaN(n)||!/^-?[0-9.]+$/.test(t)?t.toLowerCase():n;}
  function sort(table,col,dir){
    var tb=table.tBodies[0];var rows=Array.prototype.slice.call(tb.rows);
    rows.sort(function(a,b){var x=key(a.cells[col]),y=key(b.cells[col]);if(x<y)return dir==='ascending'?-1:1;if(x>y)return dir==='ascending'?1:-1;return 0;});
    rows.forEach(function(r){tb.appendChild(r);});
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){th.setAttribute('aria-sort',i===col?dir:'none');});
    table.setAttribute('data-sorted',col+':'+dir);
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'),function(table){
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      th.classList.add('sortable');th.setAttribute('tabindex','0');
      function go(){sort(table,i,th.getAttribute('aria-sort')==='ascending'?'descending':'ascending');}
      th.addEventListener('click',go);th.addEventListener('keydown',function(e){if(e.key==='Enter')go();});
    });
    var init=table.getAttribute('data-initial-sort');
    if(init){var p=init.split(':');sort(table,parseInt(p[0],10),p[1]==='desc'?'descending':'ascending');}
  });
  document.documentElement.setAttribute('data-js','ready');
})();
"#;

/// HTML-escapes text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn severity_rank(s: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|(n, _)| *n == s)
        .map_or(0, |i| SEVERITIES.len() - i)
}

fn severity_colour(s: &str) -> &'static str {
    SEVERITIES
        .iter()
        .find(|(n, _)| *n == s)
        .map_or("#616161", |(_, c)| c)
}

/// The severity chart: one horizontal bar per severity, length proportional to the count.
fn chart(report: &Report) -> String {
    let counts: Vec<(&str, &str, usize)> = SEVERITIES
        .iter()
        .map(|(n, c)| {
            (
                *n,
                *c,
                report
                    .vulnerabilities
                    .iter()
                    .filter(|v| v.severity == *n)
                    .count(),
            )
        })
        .collect();
    let max = counts.iter().map(|c| c.2).max().unwrap_or(0).max(1);
    let (w, row) = (520.0_f64, 28.0_f64);
    let mut svg = format!(
        r#"<svg id="severity-chart" role="img" aria-label="Vulnerabilities by severity" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}">"#,
        w + 140.0,
        row * counts.len() as f64 + 8.0,
        w + 140.0,
        row * counts.len() as f64 + 8.0
    );
    for (i, (name, colour, n)) in counts.iter().enumerate() {
        let y = i as f64 * row + 4.0;
        let len = if *n == 0 {
            2.0
        } else {
            (*n as f64 / max as f64) * w
        };
        let _ = write!(
            svg,
            r##"<g class="bar" data-severity="{name}" data-count="{n}"><text x="0" y="{ty}" font-size="13" fill="#1d2430">{name}</text><rect x="80" y="{y}" width="{len:.1}" height="{h}" rx="3" fill="{colour}"/><text x="{tx:.1}" y="{ty}" font-size="13" fill="#1d2430">{n}</text></g>"##,
            ty = y + 15.0,
            h = row - 8.0,
            tx = 80.0 + len + 6.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Renders `report` as one HTML document.
pub fn render(report: &Report) -> String {
    let e = |s: &str| escape(s);
    let mut h = String::new();
    let status = if report.passed {
        r#"<span class="badge pass" id="overall">PASSED</span>"#.to_owned()
    } else {
        format!(
            r#"<span class="badge fail" id="overall">FAILED at {}</span>"#,
            report.failed_stage.map(|s| s.name()).unwrap_or("?")
        )
    };
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>vouch report: {title}</title><style>{CSS}</style></head><body><header><h1>vouch pipeline report {status}</h1><div class="sub" id="image">{pinned}</div></header><main>"#,
        title = e(&report.image),
        pinned = e(report.pinned.as_deref().unwrap_or(&report.image)),
    );

    // Summary cards.
    let findings = report.vulnerabilities.len();
    let _ = write!(
        h,
        r#"<section><div class="grid"><div class="kv"><div class="k">image digest</div><div class="v mono" id="digest">{digest}</div></div><div class="kv"><div class="k">signer</div><div class="v mono" id="signer">{signer}</div></div><div class="kv"><div class="k">vulnerabilities</div><div class="v" id="vuln-count">{findings}</div></div><div class="kv"><div class="k">packages</div><div class="v" id="package-count">{packages}</div></div><div class="kv"><div class="k">attestations verified</div><div class="v">{att}</div></div></div></section>"#,
        digest = e(report.digest.as_deref().unwrap_or("-")),
        signer = e(report.signer.as_deref().unwrap_or("-")),
        packages = report.packages.len(),
        att = report.attestations.iter().filter(|a| a.verified).count(),
    );

    // Stages.
    h.push_str(r#"<section><h2>Stages</h2><table id="stages"><thead><tr><th></th><th>stage</th><th>time</th><th>result</th></tr></thead><tbody>"#);
    for s in &report.stages {
        let (class, mark) = match s.status {
            Status::Passed => ("pass", "&#10003;"),
            Status::Failed => ("fail", "&#10007;"),
            Status::Skipped => ("skip", "&ndash;"),
        };
        let _ = write!(
            h,
            r#"<tr class="stage stage-{class}" data-stage="{name}"><td><span class="badge {class}">{mark}</span></td><td>{name}</td><td>{time}</td><td class="mono">{summary}{err}</td></tr>"#,
            name = s.stage.name(),
            time = if s.status == Status::Skipped {
                String::new()
            } else {
                format!("{:.2}s", s.millis as f64 / 1000.0)
            },
            summary = e(&s.summary),
            err = s
                .error
                .as_deref()
                .filter(|x| *x != s.summary)
                .map(|x| format!("<br><span class=\"muted\">{}</span>", e(x)))
                .unwrap_or_default(),
        );
    }
    h.push_str("</tbody></table></section>");

    // Vulnerabilities.
    let _ = write!(
        h,
        r#"<section><h2>Vulnerabilities by severity{}</h2>{}"#,
        report
            .fail_on
            .as_deref()
            .map(|f| format!(" <span class=\"muted\">(fail on {} and above)</span>", e(f)))
            .unwrap_or_default(),
        chart(report)
    );
    if report.vulnerabilities.is_empty() {
        h.push_str(r#"<p class="muted">No known vulnerabilities.</p>"#);
    } else {
        h.push_str(r#"<table id="vulns" class="sortable" data-initial-sort="0:desc"><thead><tr><th>severity</th><th>score</th><th>id</th><th>package</th><th>installed</th><th>fixed in</th><th>summary</th></tr></thead><tbody>"#);
        // Rows in id order: the JavaScript sorts them by severity.
        let mut rows: Vec<_> = report.vulnerabilities.iter().collect();
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        for v in rows {
            let id = match &v.url {
                Some(u) => format!(r#"<a href="{}" rel="noreferrer">{}</a>"#, e(u), e(&v.id)),
                None => e(&v.id),
            };
            let _ = write!(
                h,
                r#"<tr data-id="{rid}"><td data-sort="{rank}"><span class="sev" style="background:{colour}">{sev}</span></td><td data-sort="{score}">{score_text}</td><td class="mono">{id}</td><td>{pkg}</td><td class="mono">{ver}</td><td class="mono">{fixed}</td><td>{summary}</td></tr>"#,
                rid = e(&v.id),
                rank = severity_rank(&v.severity),
                colour = severity_colour(&v.severity),
                sev = e(&v.severity),
                score = v.score.unwrap_or(0.0),
                score_text = v.score.map(|s| format!("{s:.1}")).unwrap_or_default(),
                pkg = e(&format!("{} ({})", v.package, v.ecosystem)),
                ver = e(&v.version),
                fixed = e(&v.fixed.join(", ")),
                summary = e(&v.summary),
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section>");

    // Packages by ecosystem.
    let mut by_eco: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &report.packages {
        *by_eco.entry(p.ecosystem.as_str()).or_default() += 1;
    }
    h.push_str(r#"<section><h2>SBOM packages by ecosystem</h2><div class="grid" id="ecosystems">"#);
    for (eco, n) in &by_eco {
        let _ = write!(
            h,
            r#"<div class="kv" data-ecosystem="{eco}"><div class="k">{eco}</div><div class="v">{n}</div></div>"#,
            eco = e(eco)
        );
    }
    h.push_str(r#"</div><table id="packages" class="sortable" data-initial-sort="0:asc" style="margin-top:12px"><thead><tr><th>ecosystem</th><th>name</th><th>version</th><th>purl</th></tr></thead><tbody>"#);
    for p in &report.packages {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{}</td><td class="mono">{}</td><td class="mono">{}</td></tr>"#,
            e(&p.ecosystem),
            e(&p.name),
            e(&p.version),
            e(p.purl.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</tbody></table></section>");

    // Attestations and log entries.
    h.push_str(r#"<section><h2>Signatures and attestations</h2><table id="attestations"><thead><tr><th>predicate type</th><th>stored at</th><th>verified</th><th>signer</th></tr></thead><tbody>"#);
    for a in &report.attestations {
        let _ = write!(
            h,
            r#"<tr><td class="mono">{}</td><td class="mono">{}</td><td>{}</td><td class="mono">{}</td></tr>"#,
            e(&a.predicate_type),
            e(&a.location),
            if a.verified {
                r#"<span class="badge pass">verified</span>"#.to_owned()
            } else {
                format!(
                    r#"<span class="badge fail">no</span> <span class="muted">{}</span>"#,
                    e(a.error.as_deref().unwrap_or(""))
                )
            },
            e(a.signer.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</tbody></table>");
    if report.log_entries.is_empty() {
        h.push_str(r#"<p class="muted" id="log-entries">No transparency log entries (key-signed without a log).</p>"#);
    } else {
        h.push_str(r#"<h2 style="margin-top:16px">Transparency log entries</h2><table id="log-entries"><thead><tr><th>for</th><th>log index</th><th>log id</th><th>integrated</th><th>inclusion proof</th></tr></thead><tbody>"#);
        for l in &report.log_entries {
            let idx = match &report.log_url {
                Some(u) => format!(
                    r#"<a href="{}/api/v1/log/entries?logIndex={}">{}</a>"#,
                    e(u.trim_end_matches('/')),
                    l.log_index,
                    l.log_index
                ),
                None => l.log_index.to_string(),
            };
            let _ = write!(
                h,
                r#"<tr><td class="mono">{}</td><td>{}</td><td class="mono">{}</td><td>{}</td><td>{}</td></tr>"#,
                e(&l.what),
                idx,
                e(&l.log_id),
                l.integrated_time
                    .map(vouch_build::rfc3339)
                    .unwrap_or_default(),
                if l.inclusion_proof { "verified" } else { "-" }
            );
        }
        h.push_str("</tbody></table>");
    }
    if let Some(p) = &report.pinned {
        let _ = write!(
            h,
            r#"<p>Verify by hand:</p><pre id="verify-commands">{}</pre>"#,
            e(&report.verify_commands.join("\n").replace("IMAGE", p))
        );
    }
    h.push_str("</section>");

    // Admission.
    if !report.admission.is_empty() {
        h.push_str(r#"<section><h2>Admission decisions</h2><table id="admission"><thead><tr><th>decision</th><th>resource</th><th>details</th></tr></thead><tbody>"#);
        for d in &report.admission {
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td class="mono">{}/{}/{}</td><td class="mono">{}</td></tr>"#,
                if d.admitted {
                    r#"<span class="badge pass">admitted</span>"#
                } else {
                    r#"<span class="badge fail">refused</span>"#
                },
                e(&d.namespace),
                e(&d.kind),
                e(&d.name),
                e(&if d.pinned.is_empty() {
                    d.messages.join("; ")
                } else {
                    format!("pinned to {}", d.pinned.join(", "))
                })
            );
        }
        h.push_str("</tbody></table></section>");
    }
    if !report.artifacts.is_empty() {
        let _ = write!(
            h,
            r#"<section><h2>Artifacts</h2><p class="mono">{}</p></section>"#,
            e(&report.artifacts.join("  "))
        );
    }
    let _ = write!(
        h,
        r#"<p class="muted">Generated by vouch {}.</p></main><script>{JS}</script></body></html>"#,
        env!("CARGO_PKG_VERSION")
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn ranks() {
        assert!(severity_rank("critical") > severity_rank("high"));
        assert!(severity_rank("low") > severity_rank("unknown"));
    }
}
