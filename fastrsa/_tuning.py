"""Every tunable of fastrsa, with the reason for its value.

None of these changes a result: each moves the line between two paths that
give the same answer bit for bit (the bootstrap's two Pearson paths: to about
1e-13), or sizes a buffer or a batch.  The
planner (``fastrsa._plan``) and the kernels read them from here; tests that
need a given path choose it through the plan or by setting a value here.
Measurements behind the values are in docs/performance.md.

Two kinds of value:

- read by Python at each call (the planner's thresholds and costs, the batch
  sizes of the inference functions): changing one here takes effect at once;
- compiled into the Numba kernels (marked "compiled"): a kernel reads the
  value when it is compiled and keeps it in its on-disk cache, so a change
  takes effect only once that cache is cleared (``NUMBA_CACHE_DIR``, or the
  ``__pycache__`` folders of ``fastrsa/_kernels``).
"""

# --- Condensed vectors (fastrsa/_kernels/tiles.py) ----------------------------

# Products of up to this many multiply-adds (N^2 D) run in square tiles
# computed without BLAS, spread over Numba's threads; larger ones in row
# blocks on all of BLAS's threads, which pay only for large products.
SMALL_PRODUCT = 1 << 25
# Rows and columns of a block of the block kernels (compiled where a kernel
# takes them as constants; passed as arguments otherwise).  The block's
# buffer, ROWS x COLUMNS values, stays in the L2/L3 caches between its BLAS
# call and the copy-out.
ROWS = 256
COLUMNS = 4096
# Multiply-adds of one square tile at most (side^2 D): a tile's rows then
# stay in the L2 cache, and a small problem still has tiles enough to share
# among Numba's threads (compiled).
TILE_WORK = 65536 * 4

# --- The Gram identity (fastrsa/_gram.py) ---------------------------------------

# Unit rows per block of the Gram products: tall enough for BLAS's rate,
# small enough that a block of each space stays a few MB.
GRAM_BLOCK = 4096
# The Gram path's tasks (fastrsa/_tasks.py): about this many row ranges, so
# that a cluster's workers (or this machine's threads) share them evenly,
# none shorter than GRAM_TASK_ROWS rows, so that each task's products run at
# BLAS's rate and its partial Gram matrices (returned, then added) cost little
# beside them.  Fixed by N alone: they fix the order of the sums.
GRAM_TASKS = 64
GRAM_TASK_ROWS = 1024

# --- Threads (fastrsa/_threads.py) --------------------------------------------

# Below this many multiply-adds a call runs on the calling thread: waking the
# thread pool costs more than the work, and woken threads that find the
# cores busy make a loop of small calls many times slower.  A Spearman RSA of
# about 60 items of 300 and 768 features (1,770 pairs) is below it.
SERIAL_WORK = 1 << 22
# Ranking one value (bucket sort, then its rank read back) costs about this
# many multiply-adds of the tiles.
RANK_WORK = 64

# --- Ranks (fastrsa/_kernels/rank.py, compiled) ----------------------------------

COARSE_SIZE = 1 << 14  # values per coarse bucket, on average, up to COARSE_BUCKETS buckets
# At most this many coarse buckets: the scatter of step 1 and its replay in
# step 3 write to one place per bucket, and past about this many places the
# writes thrash the caches (docs/algorithms.md has the figures); from 2**25
# values on, the buckets grow instead.
COARSE_BUCKETS = 2048
PARTS = 64  # slices of the scatter: more than any machine's threads, and cheap (PARTS x COARSE_BUCKETS counters)
FINE_SIZE = 4  # values per fine bucket, on average
COUNTED = 16  # fine buckets up to this size rank by counting (no data-dependent branch); larger ones sort
INSERTION = 24  # quicksort's partitions up to this size are sorted by insertion

# --- Kendall's tau (fastrsa/_kernels/kendall.py, compiled) --------------------------

KENDALL_RUN = 32  # runs of this length are sorted by insertion before merging

# --- Serial below, parallel above (compiled) -------------------------------------

# Waking the thread pool costs more than the work below these many elements.
NORMALIZE_PARALLEL_MIN = 1 << 15  # fastrsa/_kernels/normalize.py: rows' elements
MOMENTS_PARALLEL_MIN = 4 * 4096  # fastrsa/_kernels/correlate.py: values, four of its summation chunks

# (Not here: the summation chunks of correlate.py and rank.py, CHUNK, which fix
# the order of every sum and so the result's last bits.)

# --- The permutation test and the bootstrap (fastrsa/stats.py) --------------------

# Up to this size Y's permuted matrix is kept square (n^2 float64), whose
# rows make the permutations' gathers faster; past it, condensed (n^2/2).
SQUARE_BYTES = 1 << 28
# From this many items the square matrix outgrows the L2 cache, and the
# permutations run blocked (b's rows outer, a block of permutations inner).
BLOCKED_ITEMS = 200
PERMUTATIONS_PER_BLOCK = 64  # their inverses, 4n bytes each, stay in L2
DRAWS_PER_BATCH = 1 << 20  # items drawn per batch of permutations or resamples: bounds the batch's memory
# Batches are tasks (fastrsa/_tasks.py), each drawn from its own seed: about
# this many a call, so that a cluster's workers share them, but none of fewer
# than DRAWS_PER_TASK draws where the count allows (a batch pays for its
# generator and its call, and the blocked null wants whole blocks of
# permutations on every thread).  Fixed by n and the count: they fix the draws.
RESAMPLE_TASKS = 32
DRAWS_PER_TASK = 128
# A pair's gather from a cached vector (b's square matrix, row by row or
# blocked, or a condensed vector that fits in the cache) costs about this many
# BLAS multiply-adds; it decides between the two Pearson permutation paths.
GATHER_COST = 16
# A condensed vector larger than this (the last-level cache of a server core's
# share, or less) is gathered from memory: each pair's gather misses the cache
# and waits on memory's latency, not the core's loads, and costs about
# MISSED_GATHER_COST multiply-adds instead (docs/performance.md).
CACHE_BYTES = 1 << 25
MISSED_GATHER_COST = 256
# A pair's share of a pairs-based Pearson resample (its weight written, then
# read with its two values in both passes of the weighted Pearson: a dozen
# scalar operations and about 56 bytes streamed) costs about this many BLAS
# multiply-adds; and the NumPy calls of one resample by the weighted Gram
# identity (a dozen, and the blocks' products) about RESAMPLE_CALL_COST.  They
# decide between the two Pearson bootstrap paths, whose intervals agree to
# about 1e-13 (not bit for bit: the sums are taken in another order).
RESAMPLE_PAIR_COST = 64
RESAMPLE_CALL_COST = 1 << 20
# The NumPy calls of one permutation of the Gram null (a gather, a product,
# a few vector sums: _gram.PermutedMoments) cost about this many BLAS
# multiply-adds beyond the product, where the pairs' null runs a whole
# batch of permutations in one compiled call; it keeps small tests on the
# pairs' null.
PERMUTATION_CALL_COST = 1 << 20

# --- Binned Spearman (fastrsa/_binned.py) -----------------------------------------

# Pairs per task of the two passes: enough tasks to spread over a cluster's
# workers, each long enough to pay its start (and a block buffer) many times over.
BINNED_TASK_PAIRS = 1 << 24  # (Ctrl-C and the progress line are seen between tasks: well under a second each)
# At most this many tasks a pass: past it (N above about 370,000) the tasks
# grow instead, so that a cluster's client receives at most this many bins a
# count pass (786 KB each at the default tolerance).
BINNED_MAX_TASKS = 1 << 12
# Pairs of each space whose values place its bins, and the equal segments of
# their range the bins are placed in (each split into fine bins in
# proportion to the sample's values in it).
BINNED_SAMPLE = 1 << 16
BINNED_SEGMENTS = 1 << 12
# The most fine bins a space is counted in (48 bytes each):
# the bound falls about as 7 / fine bins.
BINNED_MAX_FINE_BINS = 1 << 24
BINNED_REFINE = 4  # a second count takes at most this many times the first's fine bins

# --- Vectors written to a file (fastrsa/_written.py) -----------------------------

# Values a chunk of a zarr array that ``out="….zarr"`` creates: 4-8 MiB, as
# zarr advises, and short beside a task's slice (BINNED_TASK_PAIRS), so the
# chunks a task covers whole it writes itself and only the few chunks
# shared by two tasks' slices are put together and written by the caller.
ZARR_CHUNK = 1 << 20

# --- Progress (fastrsa/_progress.py) -------------------------------------------------

# Calls of at least this many multiply-adds show a progress line by default
# where stderr is a terminal: calls long enough that silence would leave one wondering.
PROGRESS_WORK = 1 << 40
# The cost model's rates, for the time a long call announces (_progress.estimate_seconds):
# a stage's multiply-adds or bytes moved at these rates, whichever takes longer.
# Of the order of this 2-core machine's rates: multiply-adds mostly in BLAS
# products and tiles, bytes through the caches in the gathers and ranks of the
# draws; the benchmark report sets the estimate beside the time taken.
MULTIPLY_ADDS_PER_SECOND = 2e10
BYTES_PER_SECOND = 4e9
RATES_THREADS = 2  # (the threads those rates are of: a machine with more is taken to be as much faster)
# A call the cost model expects to take longer than this (seconds) warns
# (_progress.LongCallWarning) unless it shows its progress.
LONG_CALL_SECONDS = 60

# Batched small RSAs (fastrsa/_batched.py): the items a launch computes are
# those whose two float64 vectors fit in this many bytes (the vectors stay
# reused chunk after chunk; a batch of any length takes this much).
BATCH_BYTES = 64 * 2**20

# --- The CLI's summary of two spaces (api.similarity_summary) -------------------------

# The share of pairs more similar in B is counted over every pair up to
# SUMMARY_PAIRS pairs (in tiles, at most four times the sample's products), and past it over
# SUMMARY_SAMPLE random pairs: a 0.95 confidence interval of at most +-0.004,
# from 65,536 dot products of each space's rows read at random -- a fraction
# of the score's own cost wherever the sample is taken.
SUMMARY_PAIRS = 1 << 18
SUMMARY_SAMPLE = 1 << 16

# --- The command line (fastrsa/cli.py, fastrsa/_warm.py) ---------------------------------

# Below this many pairs a score is said to mean little, with the bootstrap
# interval (of this many resamples, seed 0) that shows how little.
FEW_PAIRS = 100
FEW_PAIRS_RESAMPLES = 1000
# Below this share of the kernels cached, a command says it will compile first.
COLD_SHARE = 0.5
