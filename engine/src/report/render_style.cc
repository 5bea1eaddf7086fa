#include "report/render_style.h"

namespace traceframe::internal {
namespace {

// Deviations (agent.guess, plan.deviation) have their own accent: a pink
// that no other kind uses, so a guess stands out from warnings and errors.
constexpr std::string_view kDeviationCssText =
    ":root{--dev:#db2777;--dev-bg:#fce7f3}.dev{--c:var(--dev);--c-bg:var(--dev-bg)}"
    ".badge.dev{background:var(--c-bg);color:var(--c)}.ev-dev{--accent:var(--dev)}\n";

constexpr std::string_view kBaseCss = R"css(
:root{--bg:#f4f6fb;--card:#fff;--ink:#1f2933;--muted:#64748b;--line:#e2e8f0;
--ok:#16a34a;--ok-bg:#dcfce7;--bad:#dc2626;--bad-bg:#fee2e2;--warn:#d97706;--warn-bg:#fef3c7;
--tool:#2563eb;--tool-bg:#dbeafe;--model:#7c3aed;--model-bg:#ede9fe;--info:#475569;--info-bg:#e2e8f0;
--sans:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 var(--sans)}
main{max-width:980px;margin:0 auto;padding:24px 16px 48px}
h1{font-size:22px;margin:0}
h2{font-size:16px;margin:28px 0 10px}
code,pre,.mono{font-family:var(--mono);font-size:12.5px}
.hero{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 20px}
.hero .title{display:flex;align-items:center;gap:12px;flex-wrap:wrap}
.meta{color:var(--muted);margin:8px 0 0}
.meta code{color:var(--ink)}
.badge{display:inline-block;border-radius:999px;padding:1px 10px;font-size:12px;font-weight:600;
background:var(--info-bg);color:var(--info)}
.badge.lg{font-size:14px;padding:3px 14px}
.ok{--c:var(--ok);--c-bg:var(--ok-bg)}.bad{--c:var(--bad);--c-bg:var(--bad-bg)}
.warn{--c:var(--warn);--c-bg:var(--warn-bg)}.tool{--c:var(--tool);--c-bg:var(--tool-bg)}
.model{--c:var(--model);--c-bg:var(--model-bg)}.info{--c:var(--info);--c-bg:var(--info-bg)}
.badge.ok,.badge.bad,.badge.warn,.badge.tool,.badge.model,.badge.info{background:var(--c-bg);color:var(--c)}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(118px,1fr));gap:10px;margin-top:14px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 12px;
border-top:3px solid var(--c,var(--line))}
.stat .num{display:block;font-size:clamp(15px,2.2vw,19px);font-weight:700;overflow-wrap:anywhere;
font-variant-numeric:tabular-nums;color:var(--c,var(--ink))}
.stat .lbl{color:var(--muted);font-size:12px}
.note{background:var(--warn-bg);border:1px solid var(--warn);border-radius:8px;padding:8px 12px;margin:12px 0}
.callout{border-radius:6px;padding:4px 8px;background:var(--c-bg);color:var(--c);white-space:pre-wrap;
overflow-wrap:anywhere}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.bars{display:grid;grid-template-columns:minmax(0,260px) 1fr 90px;gap:4px 10px;align-items:center;
max-height:460px;overflow-y:auto}
.bar-label{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-family:var(--mono);font-size:12px}
.track{position:relative;height:14px;background:var(--bg);border-radius:4px}
.bar{position:absolute;top:2px;height:10px;border-radius:3px;background:var(--tool);min-width:3px}
.bar.bad{background:var(--bad)}
.bar.open{background:repeating-linear-gradient(45deg,var(--warn),var(--warn) 4px,var(--warn-bg) 4px,var(--warn-bg) 8px)}
.bar-dur{text-align:right;color:var(--muted);font-size:12px;white-space:nowrap}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:11px;margin-top:6px}
table{width:100%;border-collapse:collapse;background:var(--card)}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line)}
th{color:var(--muted);font-weight:600;font-size:12px}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.bad{color:var(--bad);font-weight:600}
.timeline{list-style:none;margin:0;padding:0 0 0 34px;position:relative}
.timeline:before{content:"";position:absolute;left:11px;top:4px;bottom:4px;width:2px;background:var(--line)}
.event{position:relative;margin:0 0 12px;--accent:var(--info)}
.ev-ok{--accent:var(--ok)}.ev-bad{--accent:var(--bad)}.ev-warn{--accent:var(--warn)}
.ev-tool{--accent:var(--tool)}.ev-model{--accent:var(--model)}.ev-info{--accent:var(--info)}
.marker{position:absolute;left:-34px;top:8px;width:30px;text-align:center}
.dot{display:block;width:12px;height:12px;margin:0 auto;border-radius:50%;background:var(--accent);
border:2px solid var(--card);box-shadow:0 0 0 1px var(--accent)}
.seq{display:block;font-size:10px;color:var(--muted);font-family:var(--mono)}
.card{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--accent);
border-radius:8px;padding:8px 12px}
.head{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.rel{font-weight:600}.clock{color:var(--muted);font-family:var(--mono);font-size:12px;margin-left:auto}
.kv{display:grid;grid-template-columns:130px 1fr;gap:8px;margin-top:6px}
.k{color:var(--muted)}.v{overflow-wrap:anywhere;min-width:0}
.chip{background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:0 5px;margin-right:4px}
pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
pre.cmd{background:#0f172a;color:#e2e8f0;border-radius:6px;padding:6px 8px}
details{margin-top:8px}
summary{cursor:pointer;color:var(--muted);font-size:12px}
details pre{max-height:320px;overflow:auto;background:var(--bg);border-radius:6px;padding:8px;margin-top:4px}
.gap{margin:0 0 12px;padding:8px 12px;border:1px dashed var(--warn);border-radius:8px;
background:var(--warn-bg);color:#78350f}
.more{color:var(--muted);font-size:12px;margin-top:4px}
footer{color:var(--muted);font-size:12px;margin-top:28px}
h3{font-size:13px;margin:14px 0 6px;color:var(--muted)}
a.seq-link{color:var(--tool);text-decoration:none;font-family:var(--mono);font-size:12px}
a.seq-link:hover,.bar-label a:hover{text-decoration:underline}
.bar-label a{color:inherit;text-decoration:none}
.host dl{display:grid;grid-template-columns:130px 1fr;gap:4px 10px;margin:0}
.host dt{color:var(--muted)}.host dd{margin:0;overflow-wrap:anywhere;min-width:0}
.verdict{border-left:4px solid var(--c)}
.verdict ul{margin:8px 0 0;padding-left:18px}.verdict li{margin:3px 0;overflow-wrap:anywhere}
code.path{background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:1px 6px;
overflow-wrap:anywhere}
.pair{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.filters{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 12px;align-items:center;font-size:12px}
.filters label{cursor:pointer;border:1px solid var(--line);border-radius:999px;padding:1px 10px;
background:var(--card)}
.fl{position:absolute;opacity:0;pointer-events:none}
.fl:focus-visible~.timeline-wrap .filters{outline:2px solid var(--tool);outline-offset:2px}
#f-all:checked~.timeline-wrap [for=f-all],#f-problem:checked~.timeline-wrap [for=f-problem],#f-run:checked~.timeline-wrap [for=f-run],#f-model:checked~.timeline-wrap [for=f-model],#f-tool:checked~.timeline-wrap [for=f-tool],#f-perm:checked~.timeline-wrap [for=f-perm],#f-error:checked~.timeline-wrap [for=f-error],#f-dev:checked~.timeline-wrap [for=f-dev]{background:var(--ink);color:#fff;border-color:var(--ink)}
#f-problem:checked~.timeline-wrap .event:not(.problem),
#f-run:checked~.timeline-wrap .event:not(.k-run),
#f-model:checked~.timeline-wrap .event:not(.k-model),
#f-tool:checked~.timeline-wrap .event:not(.k-tool),
#f-perm:checked~.timeline-wrap .event:not(.k-perm),
#f-error:checked~.timeline-wrap .event:not(.k-error),
#f-dev:checked~.timeline-wrap .event:not(.k-dev),
.fl:not(#f-all):checked~.timeline-wrap .gap{display:none}
)css";

}  // namespace

const std::string_view kRenderCss = kBaseCss;
const std::string_view kDeviationCss = kDeviationCssText;

}  // namespace traceframe::internal
