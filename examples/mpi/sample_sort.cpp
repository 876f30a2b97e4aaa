// The distributed sample sort and reduction of sample_sort.c, in C++ with the
// taskengine.hpp wrapper: MPI between ranks, a taskengine engine inside each.
//
//   mpiexec -n 4 ./mpi_sort_cpp [items_per_rank [engine_workers [expected_workers]]]
//
// engine_workers 0 (the default) uses the default engine, sized to the CPUs this
// rank may use (affinity mask, cgroup quota). Only the main thread calls MPI
// (MPI_THREAD_FUNNELED). Rank 0 checks the result against std::sort of all the
// data gathered, and the reductions against std::accumulate / minmax_element.
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "taskengine.hpp"

namespace {

constexpr int kSamples = 64;  // per rank: more than p - 1 keeps buckets even

void check_mpi(const char *what, int rc) {
  if (rc != MPI_SUCCESS) throw std::runtime_error(std::string(what) + " failed");
}

int to_int(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX)) throw std::runtime_error("more than INT_MAX items for one MPI call");
  return static_cast<int>(n);
}

// Sorts `data` (this rank's part) into this rank's slice of the global order.
std::vector<std::int64_t> sample_sort(taskengine::EngineRef engine, std::vector<std::int64_t> data, int rank_count) {
  engine.sort(data.data(), data.size());
  std::vector<std::int64_t> samples(kSamples, INT64_MAX);
  for (std::size_t i = 0; i < samples.size() && !data.empty(); i++) samples[i] = data[i * data.size() / kSamples];
  std::vector<std::int64_t> pool(samples.size() * static_cast<std::size_t>(rank_count));
  check_mpi("MPI_Allgather", MPI_Allgather(samples.data(), kSamples, MPI_INT64_T, pool.data(), kSamples,
                                           MPI_INT64_T, MPI_COMM_WORLD));
  engine.sort(pool.data(), pool.size());

  // Bucket j: splitter[j-1] < v <= splitter[j], one run of the sorted data.
  std::vector<int> send_counts(rank_count), send_displs(rank_count), recv_counts(rank_count),
      recv_displs(rank_count);
  auto start = data.begin();
  for (int j = 0; j < rank_count; j++) {
    auto end = j == rank_count - 1
                   ? data.end()
                   : std::upper_bound(start, data.end(), pool[(j + 1) * pool.size() / rank_count]);
    send_displs[j] = to_int(static_cast<std::size_t>(start - data.begin()));
    send_counts[j] = to_int(static_cast<std::size_t>(end - start));
    start = end;
  }
  check_mpi("MPI_Alltoall",
            MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, MPI_COMM_WORLD));
  std::size_t received = 0;
  for (int j = 0; j < rank_count; j++) {
    recv_displs[j] = to_int(received);
    received += static_cast<std::size_t>(recv_counts[j]);
  }
  to_int(received);
  std::vector<std::int64_t> out(received);
  check_mpi("MPI_Alltoallv",
            MPI_Alltoallv(data.data(), send_counts.data(), send_displs.data(), MPI_INT64_T, out.data(),
                          recv_counts.data(), recv_displs.data(), MPI_INT64_T, MPI_COMM_WORLD));
  engine.sort(out.data(), out.size());  // the final local sort
  return out;
}

// Every rank's items, in rank order, on rank 0 (empty elsewhere).
std::vector<std::int64_t> gather(const std::vector<std::int64_t> &mine, int rank, int rank_count) {
  int count = to_int(mine.size());
  std::vector<int> counts(rank == 0 ? rank_count : 0), displs(counts.size());
  check_mpi("MPI_Gather", MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD));
  std::size_t total = 0;
  for (std::size_t i = 0; i < counts.size(); i++) {
    displs[i] = to_int(total);
    total += static_cast<std::size_t>(counts[i]);
  }
  std::vector<std::int64_t> all(to_int(total));
  check_mpi("MPI_Gatherv", MPI_Gatherv(mine.data(), count, MPI_INT64_T, all.data(), counts.data(), displs.data(),
                                       MPI_INT64_T, 0, MPI_COMM_WORLD));
  return all;
}

int run(int argc, char **argv, int rank, int rank_count) {
  const long long per_rank = argc > 1 ? std::atoll(argv[1]) : 1 << 20;
  const long workers = argc > 2 ? std::atol(argv[2]) : 0;
  const long expect = argc > 3 ? std::atol(argv[3]) : 0;
  if (per_rank < 1 || per_rank > INT_MAX / 4 || workers < 0 || workers > 4096 || expect < 0)
    throw std::runtime_error("arguments out of range");

  std::optional<taskengine::Engine> own;
  if (workers > 0) own.emplace(static_cast<std::uint32_t>(workers));
  taskengine::EngineRef engine = own ? taskengine::EngineRef(*own) : taskengine::EngineRef();
  bool ok = true;
  if (expect && engine.workers() != static_cast<std::uint32_t>(expect)) {
    std::fprintf(stderr, "rank %d: engine has %u workers, expected %ld\n", rank, engine.workers(), expect);
    ok = false;
  }

  std::mt19937_64 rng(0xC0FFEEu + static_cast<unsigned>(rank));
  std::uniform_int_distribution<std::int64_t> dist(-(std::int64_t{1} << 40), std::int64_t{1} << 40);
  std::vector<std::int64_t> original(static_cast<std::size_t>(per_rank));
  for (std::size_t i = 0; i < original.size(); i++) original[i] = i % 16 == 0 ? 4242 : dist(rng);

  const double t0 = MPI_Wtime();
  const std::vector<std::int64_t> sorted = sample_sort(engine, original, rank_count);
  const double seconds = MPI_Wtime() - t0;

  // The distributed reduction: each rank's kernels, then MPI_Reduce.
  std::int64_t mine[3] = {engine.sum(original.data(), original.size()), engine.min(original.data(), original.size()),
                          engine.max(original.data(), original.size())};
  std::int64_t sum = 0, lo = 0, hi = 0;
  check_mpi("MPI_Reduce", MPI_Reduce(&mine[0], &sum, 1, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD));
  check_mpi("MPI_Reduce", MPI_Reduce(&mine[1], &lo, 1, MPI_INT64_T, MPI_MIN, 0, MPI_COMM_WORLD));
  check_mpi("MPI_Reduce", MPI_Reduce(&mine[2], &hi, 1, MPI_INT64_T, MPI_MAX, 0, MPI_COMM_WORLD));

  std::vector<std::int64_t> all_in = gather(original, rank, rank_count);
  const std::vector<std::int64_t> all_out = gather(sorted, rank, rank_count);
  if (rank == 0) {
    const std::int64_t ref_sum = std::accumulate(all_in.begin(), all_in.end(), std::int64_t{0});
    const auto extremes = std::minmax_element(all_in.begin(), all_in.end());
    const std::int64_t ref_lo = *extremes.first, ref_hi = *extremes.second;  // before the sort moves them
    std::sort(all_in.begin(), all_in.end());
    if (all_in != all_out) {
      std::fprintf(stderr, "sample sort: result differs from std::sort of the gathered data\n");
      ok = false;
    } else {
      std::printf("C++: sample sort of %zu int64 over %d ranks (%u engine workers on rank 0): equal to std::sort\n",
                  all_in.size(), rank_count, engine.workers());
    }
    if (sum != ref_sum || lo != ref_lo || hi != ref_hi) {
      std::fprintf(stderr, "reduction: sum/min/max differ from std::accumulate/minmax_element\n");
      ok = false;
    } else {
      std::printf("C++: reduction equal to std::accumulate and std::minmax_element (%.4f s sort on rank 0)\n",
                  seconds);
    }
  }
  int local_ok = ok ? 1 : 0, all_ok = 0;
  check_mpi("MPI_Allreduce", MPI_Allreduce(&local_ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
  return all_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char **argv) {
  alarm(300);  // a hung collective fails instead of blocking the test run
  int provided = 0, rank = 0, rank_count = 1;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &rank_count);
  int code = 1;
  try {
    if (provided < MPI_THREAD_FUNNELED) throw std::runtime_error("MPI_THREAD_FUNNELED not provided");
    code = run(argc, argv, rank, rank_count);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return code;
}
