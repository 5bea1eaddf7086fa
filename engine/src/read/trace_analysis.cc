#include "read/trace_analysis.h"
#include "traceframe/str_util.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "format/event_parser.h"
#include "format/payload_facts.h"
#include "read/scan.h"
#include "traceframe/json.h"
#include "util/json_internal.h"
#include "util/parallel.h"
#include "util/progress.h"

namespace traceframe {
namespace {

// Ranks order the checks made on one event, as the earlier tool made them.
// Every kind of issue has its own rank, so (byte offset, rank) orders all
// issues totally: the kept and reported ones never depend on the order in
// which chunks found them.
enum Rank : int {
  kRankFirstKind = 0,
  kRankVersion = 1,
  kRankRunId = 2,
  kRankEventId = 3,
  kRankFinishedNotLast = 4,
  kRankSeq = 5,
  kRankSeqGap = 6,
  kRankTsBackwards = 7,
  kRankSecondStarted = 8,
  kRankFinishedWithoutStatus = 9,
  kRankEmptyRunId = 10,
  kRankDuplicateId = 11,
  kRankNotClosed = 12,
  kRankTorn = 13,
  kRankDuplicateKey = 14,
};

constexpr uint64_t kParallelThreshold = 64ull << 20;  // below this, one thread
constexpr uint64_t kMinChunk = 16ull << 20;
// Event ids remembered for the duplicate check: 24 bytes each, 6 MB per set;
// at most threads + 1 sets exist at once (the merged one reserves twice).
constexpr size_t kDuplicateCheckCap = 256u << 10;
// Chunks share their id counts this many at a time (see IdSampler).
constexpr uint64_t kIdCountBatch = 1024;

struct RankedIssue {
  VerifyIssue issue;
  int rank = 0;
  bool parse_error = false;
};

// The report order: a line that is not an event first (the earlier tool read
// the whole file before checking invariants), then by byte offset and rank.
bool IssueBefore(const RankedIssue& a, const RankedIssue& b) {
  if (a.parse_error != b.parse_error) return a.parse_error;
  if (a.issue.byte_offset != b.issue.byte_offset) return a.issue.byte_offset < b.issue.byte_offset;
  return a.rank < b.rank;
}

// Keeps the `max` first issues in report order (not in the order found).
void AddBounded(std::vector<RankedIssue>* list, RankedIssue issue, size_t max) {
  list->push_back(std::move(issue));
  if (list->size() >= 2 * max) {
    std::sort(list->begin(), list->end(), IssueBefore);
    list->resize(max);
  }
}

struct EventRef {
  uint64_t offset = 0;
  uint64_t rel_line = 0;
  uint64_t seq = 0;
  int64_t ts_ms = 0;
  EventKind kind = EventKind::kRunStarted;
  std::string run_id;
};

struct IdRef {
  uint64_t hash;
  uint64_t offset;
  uint64_t line;  // relative to the chunk while scanning
  bool operator<(const IdRef& o) const {
    return hash != o.hash ? hash < o.hash : offset < o.offset;
  }
};

// The event ids checked for duplicates, in bounded memory and independent of
// how the trace is split. An id is remembered when its hash is <= a
// threshold; the threshold starts at the maximum (every id) and halves while
// more than kDuplicateCheckCap ids would be remembered. It ends as the
// largest threshold under which the whole trace has at most the cap: every
// occurrence of a remembered id is remembered, so a duplicated id is either
// checked in full or not at all, and sequential and parallel passes check
// exactly the same ids. A set only halves the threshold when it alone
// exceeds the cap, which the whole trace then exceeds too, so no id under
// the final threshold is ever dropped.
//
// Parallel chunks also share counts, so that together they stop collecting
// ids the final threshold will drop (without this, 8 chunks of a 1 GB trace
// each kept and sorted up to the cap: every id of the trace). Threshold
// number e is ~0 >> e; counted_[e] only ever holds ids each chunk has seen
// under threshold e (each counted once, by the chunk that saw it), a lower
// bound of the trace's, so halving when it passes the cap is as safe as a
// single set passing it.
class IdSampler {
 public:
  explicit IdSampler(size_t cap) : cap_(cap) {}

  uint64_t threshold() const { return threshold_.load(std::memory_order_relaxed); }

  // Adds `n` ids seen under `threshold` by one chunk; halves the shared
  // threshold once the ids counted under it pass the cap.
  void AddCount(uint64_t threshold, uint64_t n) {
    const int epoch = threshold == 0 ? 64 : __builtin_clzll(threshold);
    if (counted_[epoch].fetch_add(n, std::memory_order_relaxed) + n > cap_) Lower(threshold >> 1);
  }

  // Lowers *threshold (and filters *ids) until *ids fits the cap.
  void Fit(std::vector<IdRef>* ids, uint64_t* threshold) const {
    const uint64_t shared = this->threshold();
    if (shared < *threshold) {
      *threshold = shared;
      Filter(ids, *threshold);
    }
    while (ids->size() > cap_) {
      *threshold >>= 1;
      Filter(ids, *threshold);
    }
  }

  // Merges a finished chunk's ids (chunk-relative lines made absolute
  // later). The sort happens here, on the chunk's thread; the merged set
  // stays sorted (filtering keeps the order).
  void Merge(std::vector<IdRef>* ids, uint64_t threshold) {
    Fit(ids, &threshold);
    std::sort(ids->begin(), ids->end());
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t t = std::min(threshold, threshold_.load());
    Filter(&pool_, t);
    Filter(ids, t);
    if (pool_.capacity() < pool_.size() + ids->size()) {
      pool_.reserve(std::min(2 * cap_ + 1, 2 * (pool_.size() + ids->size())));
    }
    const size_t middle = pool_.size();
    pool_.insert(pool_.end(), ids->begin(), ids->end());
    std::vector<IdRef>().swap(*ids);
    std::inplace_merge(pool_.begin(), pool_.begin() + static_cast<std::ptrdiff_t>(middle),
                       pool_.end());
    Fit(&pool_, &t);
    Lower(t);
  }

  // The final set, sorted by (hash, offset).
  std::vector<IdRef> Take() {
    std::vector<IdRef> out;
    out.swap(pool_);
    uint64_t t = threshold_.load();
    Fit(&out, &t);
    return out;
  }

 private:
  static void Filter(std::vector<IdRef>* ids, uint64_t threshold) {
    ids->erase(std::remove_if(ids->begin(), ids->end(),
                              [threshold](const IdRef& r) { return r.hash > threshold; }),
               ids->end());
  }

  void Lower(uint64_t t) {
    uint64_t cur = threshold_.load(std::memory_order_relaxed);
    while (t < cur && !threshold_.compare_exchange_weak(cur, t, std::memory_order_relaxed)) {
    }
  }

  const size_t cap_;
  std::atomic<uint64_t> threshold_{~uint64_t{0}};
  std::atomic<uint64_t> counted_[65] = {};
  std::mutex mu_;
  std::vector<IdRef> pool_;
};

struct ChunkResult {
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t lines = 0;
  uint64_t events = 0;
  std::optional<EventRef> first;
  std::optional<EventRef> last;
  std::optional<std::string> last_finished_status;
  std::optional<TokenUsage> last_finished_usage;
  TokenUsage call_usage;
  std::vector<std::string> models;
  std::string first_source;  // the first event's, when it is run.started
  Labels first_labels;
  std::vector<RankedIssue> errors;
  std::vector<RankedIssue> warnings;
  uint64_t error_count = 0;
  uint64_t warning_count = 0;
  uint64_t kind_counts[kEventKindCount] = {};
  uint64_t tool_failures = 0;
  std::vector<IdRef> id_hashes;
  std::optional<TornTail> torn;
};

class ChunkChecker {
 public:
  // `sampler` null: ids are not collected. `expected_run_id` null: the
  // chunk's first event sets the run id the others are compared with.
  ChunkChecker(size_t max_issues, IdSampler* sampler, ChunkResult* out,
               const std::string* expected_run_id = nullptr)
      : max_issues_(max_issues),
        sampler_(sampler),
        out_(out),
        expected_run_id_(expected_run_id),
        id_threshold_(sampler ? sampler->threshold() : 0) {}

  void AddError(uint64_t offset, uint64_t rel_line, std::optional<uint64_t> seq, int rank,
                VerifyIssueCode code, std::string message, bool parse_error = false) {
    ++out_->error_count;
    AddBounded(&out_->errors,
               RankedIssue{VerifyIssue{rel_line, offset, seq, std::move(code), std::move(message)},
                           rank, parse_error},
               max_issues_);
  }
  void AddWarning(uint64_t offset, uint64_t rel_line, uint64_t seq, int rank, VerifyIssueCode code,
                  std::string message) {
    ++out_->warning_count;
    AddBounded(
        &out_->warnings,
        RankedIssue{VerifyIssue{rel_line, offset, seq, std::move(code), std::move(message)}, rank},
        max_issues_);
  }

  // Reports the ids collected since the last report, and follows the shared
  // threshold down (then none of the kept ids are counted under it yet).
  void ShareCount() {
    for (;;) {
      sampler_->AddCount(id_threshold_, uncounted_ids_);
      uncounted_ids_ = 0;
      if (sampler_->threshold() >= id_threshold_) return;
      sampler_->Fit(&out_->id_hashes, &id_threshold_);
      uncounted_ids_ = out_->id_hashes.size();
    }
  }

  // Hands the collected ids to the sampler.
  void FinishIds() {
    if (sampler_ != nullptr) sampler_->Merge(&out_->id_hashes, id_threshold_);
  }

  void OnEvent(const EventView& e, simdjson::dom::element payload) {
    const uint64_t rel = e.line_number;
    if (e.version != 1) {
      AddError(e.byte_offset, rel, e.seq, kRankVersion, VerifyIssueCode::kUnsupportedVersion,
               Cat("unsupported event version ", e.version, " at seq ", e.seq));
    }
    if (expected_run_id_ != nullptr ? e.run_id != *expected_run_id_
                                    : out_->first && e.run_id != out_->first->run_id) {
      AddError(e.byte_offset, rel, e.seq, kRankRunId, VerifyIssueCode::kMixedRunId,
               Cat("mixed run_id at seq ", e.seq));
    }
    if (StripWhitespace(e.event_id).empty()) {
      AddError(e.byte_offset, rel, e.seq, kRankEventId, VerifyIssueCode::kEmptyEventId,
               Cat("empty event_id at seq ", e.seq));
    }
    if (out_->last) CheckPair(*out_->last, e, rel);
    if (e.kind == EventKind::kRunFinished && !e.finished_status) {
      AddWarning(e.byte_offset, rel, e.seq, kRankFinishedWithoutStatus,
                 VerifyIssueCode::kFinishedWithoutStatus,
                 Cat("run.finished at seq ", e.seq, " has no string status"));
    }
    ++out_->kind_counts[static_cast<int>(e.kind)];
    if (e.kind == EventKind::kToolResult && e.tool_failed) ++out_->tool_failures;
    if (sampler_ != nullptr) {
      const uint64_t hash = absl::Hash<std::string_view>{}(e.event_id);
      if (hash <= id_threshold_) {
        out_->id_hashes.push_back(IdRef{hash, e.byte_offset, rel});
        if (out_->id_hashes.size() > kDuplicateCheckCap) {
          sampler_->Fit(&out_->id_hashes, &id_threshold_);
          uncounted_ids_ = out_->id_hashes.size();  // none counted under the new threshold
          ShareCount();
        } else if (++uncounted_ids_ >= kIdCountBatch) {
          ShareCount();
        }
      }
    }
    EventRef ref{e.byte_offset, rel, e.seq, e.ts_ms, e.kind, {}};
    if (!out_->first) {
      ref.run_id = std::string(e.run_id);
      out_->first = ref;
      ref.run_id.clear();
      if (e.kind == EventKind::kRunStarted) {
        std::string_view source;
        if (!payload["source"].get_string().get(source)) out_->first_source = std::string(source);
        out_->first_labels = LabelsFromElement(payload);
      }
    }
    out_->last = std::move(ref);
    if (e.kind == EventKind::kRunFinished) {
      out_->last_finished_status = e.finished_status
                                       ? std::optional<std::string>(std::string(*e.finished_status))
                                       : std::nullopt;
      out_->last_finished_usage = e.usage;
    } else if (e.kind == EventKind::kModelCall) {
      if (e.usage) out_->call_usage += *e.usage;
      if (e.model) NoteModel(&out_->models, *e.model);
    }
    ++out_->events;
  }

  // Checks between two consecutive events (also across chunk seams).
  void CheckPair(const EventRef& prev, const EventView& e, uint64_t rel) {
    if (prev.kind == EventKind::kRunFinished) {
      AddError(prev.offset, prev.rel_line, prev.seq, kRankFinishedNotLast,
               VerifyIssueCode::kFinishedNotLast, "run.finished must be last");
    }
    if (e.seq <= prev.seq) {
      AddError(e.byte_offset, rel, e.seq, kRankSeq, VerifyIssueCode::kSeqNotIncreasing,
               Cat("seq must increase strictly at seq ", e.seq));
    } else if (e.seq != prev.seq + 1) {
      AddWarning(e.byte_offset, rel, e.seq, kRankSeqGap, VerifyIssueCode::kSeqGap,
                 Cat("seq gap: seq ", e.seq, " follows seq ", prev.seq));
    }
    if (e.ts_ms < prev.ts_ms) {
      AddWarning(
          e.byte_offset, rel, e.seq, kRankTsBackwards, VerifyIssueCode::kTsBackwards,
          Cat("ts_ms goes backwards at seq ", e.seq, " (", e.ts_ms, " after ", prev.ts_ms, ")"));
    }
    if (e.kind == EventKind::kRunStarted) {
      AddWarning(e.byte_offset, rel, e.seq, kRankSecondStarted, VerifyIssueCode::kSecondRunStarted,
                 Cat("a second run.started at seq ", e.seq));
    }
  }

 private:
  size_t max_issues_;
  IdSampler* sampler_;
  ChunkResult* out_;
  const std::string* expected_run_id_;
  uint64_t id_threshold_;
  uint64_t uncounted_ids_ = 0;  // collected under id_threshold_, not yet shared
};

void ScanChunk(const MappedView& view, ChunkResult* chunk, size_t max_issues, IdSampler* sampler,
               const std::string* expected_run_id = nullptr,
               internal::ProgressMeter* meter = nullptr) {
  uint64_t reported = chunk->begin;
  EventParser parser;
  ChunkChecker checker(max_issues, sampler, chunk, expected_run_id);
  // Sized once: an event line is at least ~80 bytes, and the set is cut
  // back (threshold halved) as soon as it exceeds the cap.
  if (sampler != nullptr) {
    chunk->id_hashes.reserve(
        std::min<uint64_t>(kDuplicateCheckCap + 1, (chunk->end - chunk->begin) / 64 + 16));
  }
  TraceReader::ScanResult scan = ScanRangeBatched(
      view, parser, chunk->begin, chunk->end, 1,
      [&](const EventView& e) {
        checker.OnEvent(e, parser.payload());
        if (meter != nullptr && e.byte_offset - reported >= internal::kProgressStep) {
          meter->Add(e.byte_offset - reported);
          reported = e.byte_offset;
        }
        // A repeated key makes the payload mean different things to
        // different readers (docs/format.md "Payloads").
        std::string key;
        std::string where;
        if (parser.PayloadHasDuplicateKey() && FindDuplicateKey(parser.payload(), &key, &where)) {
          checker.AddWarning(
              e.byte_offset, e.line_number, e.seq, kRankDuplicateKey,
              VerifyIssueCode::kDuplicateKey,
              Cat("payload of seq ", e.seq, " repeats the key ", JsonString(key), " at ", where));
        }
        return true;
      },
      [&](const LineError& error) {
        checker.AddError(error.byte_offset, error.line_number, std::nullopt, 0,
                         VerifyIssueCode::kInvalidEvent, Cat("invalid trace event: ", error.reason),
                         true);
        return true;
      });
  chunk->lines = scan.lines;
  chunk->torn = scan.torn;
  checker.FinishIds();
  if (meter != nullptr) meter->Add(chunk->end - reported);
}

// The seam checks a chunk could not make on its own first event (its run id
// was checked by the chunk, see the stitch).
// `chunk.first` has its absolute line number already.
void CheckSeam(const EventRef& prev, const ChunkResult& chunk, const MappedView& view,
               ChunkChecker& checker) {
  const EventRef& first = *chunk.first;
  // Re-parse the first event of the chunk to run the pair checks on it.
  EventParser parser;
  TraceReader::ScanResult ignored = ScanRange(
      view, parser, first.offset, NextLineStart(view, first.offset), first.rel_line,
      [&](const EventView& e) {
        checker.CheckPair(prev, e, e.line_number);
        return false;
      },
      [](const LineError&) { return false; });
  (void)ignored;
}

}  // namespace

TraceAnalysis AnalyzeTrace(TraceReader& reader, const VerifyOptions& options) {
  TraceAnalysis analysis;
  VerifyReport& report = analysis.report;
  TraceSummary& summary = analysis.summary;
  report.path = reader.path();
  report.bytes = reader.size();
  const MappedView view = ViewOf(reader);

  // Split at line boundaries.
  int threads = options.threads;
  if (threads <= 0) {
    threads = view.size < kParallelThreshold
                  ? 1
                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  size_t chunk_count = 1;
  if (threads > 1) {
    chunk_count = static_cast<size_t>(std::min<uint64_t>(
        static_cast<uint64_t>(threads) * 4,
        std::max<uint64_t>(
            1, view.size / (options.min_chunk_bytes ? options.min_chunk_bytes : kMinChunk))));
    chunk_count = std::max<size_t>(chunk_count, 1);
  }
  std::vector<ChunkResult> chunks(chunk_count);
  uint64_t begin = 0;
  for (size_t i = 0; i < chunk_count; ++i) {
    chunks[i].begin = begin;
    uint64_t end =
        i + 1 == chunk_count ? view.size : NextLineStart(view, view.size / chunk_count * (i + 1));
    end = std::max(end, begin);
    chunks[i].end = end;
    begin = end;
  }
  IdSampler sampler(kDuplicateCheckCap);
  const size_t max_issues = std::max<size_t>(options.max_issues, 1);
  // Only the first pass reports: a rescan below is quick next to it.
  internal::ProgressMeter meter(options.progress, view.size);
  internal::ProgressMeter* progress = meter.active() ? &meter : nullptr;
  internal::WorkQueue queue(chunk_count);
  internal::RunOnWorkers(internal::WorkerCount(threads, chunk_count), [&] {
    for (size_t i; queue.Next(&i);) {
      ScanChunk(view, &chunks[i], max_issues, &sampler, nullptr, progress);
    }
  });

  // Stitch the chunks in file order.
  std::vector<RankedIssue> errors;
  std::vector<RankedIssue> warnings;
  ChunkResult seam;  // collects seam issues with absolute line numbers
  ChunkChecker seam_checker(max_issues, nullptr, &seam);
  std::vector<std::pair<uint64_t, uint64_t>> line_bases;  // (chunk begin, line base)
  std::optional<EventRef> prev;
  uint64_t line_base = 1;
  std::string run_id;
  std::optional<std::string> finished_status;
  std::optional<TokenUsage> finished_usage;
  TokenUsage call_usage;
  for (ChunkResult& chunk : chunks) {
    if (prev && chunk.first && chunk.first->run_id != run_id) {
      // The chunk compared its events with its own first run id; a
      // sequential pass compares them with the trace's. Rescan it so (only
      // invalid traces get here). Its ids were collected already.
      ChunkResult again;
      again.begin = chunk.begin;
      again.end = chunk.end;
      ScanChunk(view, &again, max_issues, nullptr, &run_id);
      chunk = std::move(again);
    }
    line_bases.emplace_back(chunk.begin, line_base);
    for (RankedIssue& issue : chunk.errors) issue.issue.line_number += line_base - 1;
    for (RankedIssue& issue : chunk.warnings) issue.issue.line_number += line_base - 1;
    if (chunk.first) {
      chunk.first->rel_line += line_base - 1;
      chunk.last->rel_line += line_base - 1;
      if (!prev) {
        run_id = chunk.first->run_id;
        summary.source = chunk.first_source;
        summary.labels = chunk.first_labels;
        summary.first_ts_ms = chunk.first->ts_ms;
        summary.first_seq = chunk.first->seq;
        if (chunk.first->kind != EventKind::kRunStarted) {
          seam_checker.AddError(chunk.first->offset, chunk.first->rel_line, chunk.first->seq,
                                kRankFirstKind, VerifyIssueCode::kFirstNotRunStarted,
                                "first event must be run.started");
        }
        if (run_id.empty() || StripWhitespace(run_id).empty()) {
          seam_checker.AddWarning(chunk.first->offset, chunk.first->rel_line, chunk.first->seq,
                                  kRankEmptyRunId, VerifyIssueCode::kEmptyRunId,
                                  "the run_id is empty");
        }
      } else {
        CheckSeam(*prev, chunk, view, seam_checker);
      }
      prev = *chunk.last;
      finished_status = chunk.last_finished_status;
      finished_usage = chunk.last_finished_usage;
    }
    call_usage += chunk.call_usage;
    for (const std::string& model : chunk.models) NoteModel(&summary.models, model);
    std::move(chunk.errors.begin(), chunk.errors.end(), std::back_inserter(errors));
    std::move(chunk.warnings.begin(), chunk.warnings.end(), std::back_inserter(warnings));
    report.error_count += chunk.error_count;
    report.warning_count += chunk.warning_count;
    report.events += chunk.events;
    report.lines += chunk.lines;
    for (int k = 0; k < kEventKindCount; ++k) {
      summary.events += chunk.kind_counts[k];
    }
    summary.model_calls += chunk.kind_counts[static_cast<int>(EventKind::kModelCall)];
    summary.tool_calls += chunk.kind_counts[static_cast<int>(EventKind::kToolCall)];
    summary.tool_results += chunk.kind_counts[static_cast<int>(EventKind::kToolResult)];
    summary.permission_decisions +=
        chunk.kind_counts[static_cast<int>(EventKind::kPermissionDecision)];
    summary.errors += chunk.kind_counts[static_cast<int>(EventKind::kError)];
    summary.deviations += chunk.kind_counts[static_cast<int>(EventKind::kAgentGuess)] +
                          chunk.kind_counts[static_cast<int>(EventKind::kPlanDeviation)];
    summary.tool_failures += chunk.tool_failures;
    if (chunk.torn) {
      report.torn_tail = chunk.torn;
      report.torn_tail->line_number += line_base - 1;
    }
    line_base += chunk.lines;
  }

  // Duplicate event ids: sort the remembered hashes, confirm equal ones.
  std::vector<IdRef> ids = sampler.Take();
  report.duplicate_check_events = ids.size();
  for (IdRef& id : ids) {
    auto chunk = std::upper_bound(line_bases.begin(), line_bases.end(),
                                  std::make_pair(id.offset, ~uint64_t{0}));
    id.line += std::prev(chunk)->second - 1;
  }
  EventParser id_parser;
  auto event_id_at = [&](const IdRef& ref, std::string* id, uint64_t* seq) {
    ScanRange(
        view, id_parser, ref.offset, NextLineStart(view, ref.offset), ref.line,
        [&](const EventView& e) {
          *id = std::string(e.event_id);
          *seq = e.seq;
          return false;
        },
        [](const LineError&) { return false; });
  };
  for (size_t i = 1; i < ids.size(); ++i) {
    if (ids[i].hash != ids[i - 1].hash) continue;
    std::string first_id, id;
    uint64_t first_seq = 0, seq = 0;
    event_id_at(ids[i - 1], &first_id, &first_seq);
    event_id_at(ids[i], &id, &seq);
    if (id == first_id) {
      seam_checker.AddWarning(
          ids[i].offset, ids[i].line, seq, kRankDuplicateId, VerifyIssueCode::kDuplicateEventId,
          Cat("duplicate event_id ", id, " at seq ", seq, " (first used at seq ", first_seq, ")"));
    }
  }
  std::vector<IdRef>().swap(ids);

  report.error_count += seam.error_count;
  report.warning_count += seam.warning_count;
  std::move(seam.errors.begin(), seam.errors.end(), std::back_inserter(errors));
  std::move(seam.warnings.begin(), seam.warnings.end(), std::back_inserter(warnings));

  if (prev) {
    summary.run_id = run_id;
    summary.last_ts_ms = prev->ts_ms;
    summary.last_seq = prev->seq;
    summary.finished = prev->kind == EventKind::kRunFinished;
    summary.usage = summary.finished && finished_usage ? *finished_usage : call_usage;
    if (summary.finished) {
      summary.finished_ts_ms = prev->ts_ms;
      summary.status = finished_status ? *finished_status : "finished";
    } else {
      summary.status = "open";
    }
  }
  report.run_id = run_id;
  report.open = !summary.finished;
  summary.torn_tail = report.torn_tail;

  if (!prev && errors.empty()) {
    RankedIssue empty;
    empty.issue.code = VerifyIssueCode::kEmpty;
    empty.issue.message = "trace is empty";
    errors.push_back(std::move(empty));
    ++report.error_count;
  } else if (prev && !summary.finished && !options.allow_open) {
    RankedIssue not_closed;
    not_closed.issue =
        VerifyIssue{prev->rel_line, prev->offset, prev->seq, VerifyIssueCode::kNotFinished,
                    "last event must be run.finished"};
    not_closed.rank = kRankNotClosed;
    errors.push_back(std::move(not_closed));
    ++report.error_count;
  }
  if (report.torn_tail) {
    RankedIssue torn;
    torn.issue = VerifyIssue{report.torn_tail->line_number, report.torn_tail->offset, std::nullopt,
                             VerifyIssueCode::kTornTail,
                             Cat("the trace ends in a torn line (", report.torn_tail->length,
                                 " bytes without a newline that are not a complete "
                                 "event); run `traceframe repair --file ",
                                 report.path, "` to move them aside")};
    torn.rank = kRankTorn;
    errors.push_back(std::move(torn));
    ++report.error_count;
  }
  if (options.strict) {
    for (RankedIssue& w : warnings) errors.push_back(w);
    report.error_count += report.warning_count;
  }
  std::stable_sort(errors.begin(), errors.end(), IssueBefore);
  std::stable_sort(warnings.begin(), warnings.end(), IssueBefore);
  for (size_t i = 0; i < errors.size() && i < max_issues; ++i) {
    report.errors.push_back(std::move(errors[i].issue));
  }
  for (size_t i = 0; i < warnings.size() && i < max_issues; ++i) {
    report.warnings.push_back(std::move(warnings[i].issue));
  }
  report.valid = report.errors.empty();
  return analysis;
}

}  // namespace traceframe
