using MMEureka.Torch.Blas;

namespace MMEureka.Torch;

/// <summary>The two implementations behind <see cref="Gemm.Sgemm"/>.</summary>
public enum GemmBackend
{
    /// <summary>The managed blocked SIMD kernel (<see cref="ManagedGemm"/>).</summary>
    Managed,
    /// <summary>OpenBLAS <c>cblas_sgemm</c> through P/Invoke (<see cref="Blas.OpenBlas"/>).</summary>
    OpenBlas,
}

/// <summary>
/// Single-precision matrix product, row-major: C = alpha * op(A) * op(B) + beta * C, where op(A) is m x k and
/// op(B) is k x n. Leading dimensions are row strides of the stored (untransposed) arrays, as in cblas with
/// CblasRowMajor. This is the only place the engine multiplies matrices.
/// </summary>
public static class Gemm
{
    /// <summary>Environment variable that forces a backend: <c>managed</c> or <c>openblas</c>.</summary>
    public const string EnvironmentVariable = "MMEUREKA_BLAS";

    static readonly Lazy<GemmBackend> selected = new(() =>
        Resolve(Environment.GetEnvironmentVariable(EnvironmentVariable), OpenBlas.IsAvailable));

    /// <summary>The backend <see cref="Sgemm"/> uses, chosen once from <c>MMEUREKA_BLAS</c> and what loads.</summary>
    public static GemmBackend Selected => selected.Value;

    /// <summary>Which backend runs the products: "openblas" or "managed".</summary>
    public static string Backend => Name(Selected);

    /// <summary>One line for logs, e.g. "openblas (libopenblas.so.0, 2 threads)", plus the tiled kernel's share when on.</summary>
    public static string Describe() => Describe(Selected)
        + (TiledProducts ? $"; products with a side <= {TiledMaxSide} on the engine's {TileName} kernel" : "");

    /// <summary>The log line for a given backend.</summary>
    public static string Describe(GemmBackend backend) => backend switch
    {
        GemmBackend.OpenBlas => $"openblas ({OpenBlas.LibraryName ?? "not loaded"}, "
            + (SplitAcrossCores ? $"1 thread per call, products split by the engine (OpenBLAS's own threads from {OpenBlasThreadedThreshold} multiply-adds), {Environment.ProcessorCount} threads"
                : OpenBlas.NumThreads is int t ? $"{t} threads" : "threads unknown") + ")",
        _ => $"managed ({ManagedGemm.KernelName}, {Environment.ProcessorCount} threads)",
    };

    /// <summary>Lower-case name of a backend, as accepted by <c>MMEUREKA_BLAS</c>.</summary>
    public static string Name(GemmBackend backend) => backend == GemmBackend.OpenBlas ? "openblas" : "managed";

    /// <summary>
    /// Picks the backend: an explicit <paramref name="env"/> value wins (and must be loadable), otherwise OpenBLAS
    /// when available, else managed.
    /// </summary>
    internal static GemmBackend Resolve(string? env, bool openBlasAvailable)
    {
        switch (env?.Trim().ToLowerInvariant())
        {
            case null or "" or "auto":
                return openBlasAvailable ? GemmBackend.OpenBlas : GemmBackend.Managed;
            case "managed":
                return GemmBackend.Managed;
            case "openblas":
                if (!openBlasAvailable) throw OpenBlasMissing();
                return GemmBackend.OpenBlas;
            default:
                throw new InvalidOperationException(
                    $"{EnvironmentVariable}='{env}' is not a GEMM backend; use 'managed', 'openblas' or leave it unset.");
        }
    }

    static InvalidOperationException OpenBlasMissing() => new(
        $"{EnvironmentVariable}=openblas but no OpenBLAS exporting cblas_sgemm could be loaded (tried: "
        + string.Join(", ", OpenBlas.Candidates) + "). Install it (Debian: apt-get install libopenblas0-pthread) "
        + $"or set {EnvironmentVariable}=managed.");

    /// <summary>C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C[m,n] (row-major, offsets into the arrays).</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc)
    {
        // No small-product detour to the managed kernel: measured, a P/Invoke call into OpenBLAS beats the managed
        // kernel at every size down to 4 x 4 x 4 (0.09 us vs 0.7 us).
        if (UsesTiled(transA, m, n, k, alpha, beta))
        {
            if (CheckedAndTrivial(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc)) return;
            Tiled(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, beta == 1f, c, cOffset, ldc, null, 0, null);
            return;
        }
        SgemmWith(Selected, transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);
    }

    /// <summary>C[m, n] = op(A) op(B), plus bias[biasOffset + j] in every row when <paramref name="bias"/> is given, then
    /// <paramref name="rowsDone"/>(first row, rows) on each strip of finished rows (all of C, in strips, exactly once),
    /// while the strip is still in cache; C's previous contents are ignored. The linear layer's forward: on the
    /// tiled kernel the bias is added as each tile is stored and the epilogue (an activation) runs per strip of MR rows;
    /// otherwise C is filled with the bias rows, the product added (beta = 1) and the epilogue run on row chunks.</summary>
    internal static void SgemmEpilogue(bool transA, bool transB, int m, int n, int k, float[] a, int aOffset, int lda,
        float[] b, int bOffset, int ldb, float[]? bias, int biasOffset, float[] c, int cOffset, int ldc, Action<int, int>? rowsDone)
    {
        if (bias != null && (biasOffset < 0 || biasOffset + n > bias.Length))
            throw new ArgumentException($"bias needs {n} elements from offset {biasOffset} but has {bias.Length}");
        if (k > 0 && UsesTiled(transA, m, n, k, 1f, 0f))
        {
            if (CheckedAndTrivial(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, 0f, c, cOffset, ldc)) return;
            Tiled(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, false, c, cOffset, ldc, bias, biasOffset, rowsDone);
            return;
        }
        CheckOperand("C", c, cOffset, ldc, m, n);
        int minRows = Math.Max(1, (1 << 14) / Math.Max(n, 1));
        if (bias != null)
            Loops.Chunked(m, minRows, (start, count) =>
            {
                for (int r = start; r < start + count; r++) bias.AsSpan(biasOffset, n).CopyTo(c.AsSpan(cOffset + r * ldc, n));
            });
        Sgemm(transA, transB, m, n, k, 1f, a, aOffset, lda, b, bOffset, ldb, bias != null ? 1f : 0f, c, cOffset, ldc);
        if (rowsDone != null && m > 0) Loops.Chunked(m, minRows, rowsDone);
    }

    /// <summary><c>MMEUREKA_GEMM_TILED</c>, trimmed and lower-case: <c>0</c> turns the tiled kernel off, <c>avx2</c>
    /// picks the 6 x 16 tile on a CPU that could run 12 x 32.</summary>
    static readonly string TiledSetting = (Environment.GetEnvironmentVariable("MMEUREKA_GEMM_TILED") ?? "").Trim().ToLowerInvariant();

    /// <summary>The tile <see cref="TiledProducts"/> uses: 12x32 where .NET runs Vector512 natively (AVX-512 CPUs,
    /// except those where the runtime leaves it off by default, such as Skylake-X, which get 6x16), 6x16 with AVX2
    /// (or when <c>MMEUREKA_GEMM_TILED=avx2</c>), null on other CPUs. Declared before <see cref="TiledProducts"/>,
    /// whose initialiser reads it: static fields initialise in order.</summary>
    internal static readonly Type? TileKind =
        Tile12x32.IsSupported && TiledSetting != "avx2" ? typeof(Tile12x32)
        : Tile6x16.IsSupported ? typeof(Tile6x16) : null;

    /// <summary>
    /// Whether <see cref="Sgemm"/> sends products with one side at most <see cref="TiledMaxSide"/> (the transformer's
    /// linear layers and their gradients) to the engine's own kernel (<see cref="TiledGemm"/>) with the tile
    /// <see cref="TileKind"/>: 12 x 32 with AVX-512, 6 x 16 with AVX2 (which leaves products with transposed A, the
    /// weight gradients, to the backend: <see cref="UsesTiled"/>). On unless <c>MMEUREKA_GEMM_TILED=0</c>;
    /// <c>MMEUREKA_GEMM_TILED=avx2</c> runs the 6 x 16 kernel (and its rule) on an AVX-512 CPU too. Setting it true
    /// on a CPU without AVX2 has no effect.
    /// Measured on one Zen 4 core against OpenBLAS 0.3.21 (12 x 32, before transposed A was packed in chunks): with
    /// hot caches 101-113 vs 75-92 GFLOP/s on the training step's shapes; with operands out of cache 84-97 vs 75-90 on
    /// the forward and input-gradient shapes, 74-85 vs 78-88 on the weight gradients (transposed A, k = 3072); inside
    /// the training step the linear layers' backward took 113-118 ms with the weight gradients on this kernel and
    /// 120-122 ms with them on OpenBLAS. On two Zen 3 cores (6 x 16): the forward and input-gradient products
    /// 0.92-1.02x OpenBLAS's time (one core: 0.76-0.93x), the training step 0.93-0.97x (interleaved A/B in one
    /// process), mostly from adding the bias and running GELU as tiles are stored. <see cref="SgemmWith"/> (backend
    /// benchmarks, tests) always runs the backend it is given.
    /// </summary>
    public static bool TiledProducts { get; set; } = TileKind != null && TiledSetting != "0";

    static string TileName => TileKind == typeof(Tile12x32) ? "AVX-512 12x32" : "AVX2 6x16";

    /// <summary>See <see cref="TiledProducts"/>: the smallest of m, n, k must be at most this.</summary>
    public const int TiledMaxSide = 512;

    /// <summary>See <see cref="TiledProducts"/>: products under 2^23 multiply-adds (decoding's, at most 64 x 128 x 512)
    /// stay with the backend, so sampling runs the same code as before.</summary>
    public const long TiledMinWork = 1L << 23;

    /// <summary>Whether a product goes to <see cref="TiledGemm"/>. On AVX2 products with transposed A (the weight
    /// gradients, k = the 3072 rows of a batch) stay with the backend (OpenBLAS where it loads): with only 128-512
    /// rows and columns per thread, packing A and B weighs more against the multiply-adds there, OpenBLAS's assembly
    /// packs faster, and the 6 x 16 kernel measured 1.1-1.4x OpenBLAS's time on one Zen 3 core (interleaved, hot),
    /// while on the forward and input-gradient products it took 0.76-0.93x.</summary>
    static bool UsesTiled(bool transA, int m, int n, int k, float alpha, float beta)
        => TiledProducts && TileKind != null && alpha == 1f && (beta == 0f || beta == 1f) && (long)m * n * k >= TiledMinWork
           && Math.Min(m, Math.Min(n, k)) <= TiledMaxSide
           && !(transA && TileKind == typeof(Tile6x16));

    static void Tiled(bool transA, bool transB, int m, int n, int k, float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
        bool accumulate, float[] c, int cOffset, int ldc, float[]? bias, int biasOffset, Action<int, int>? rowsDone)
    {
        int threads = Threads.Serial || (long)m * n * k < SplitThreshold ? 1 : Environment.ProcessorCount;
        if (TileKind == typeof(Tile12x32))
            TiledGemm.Sgemm<Tile12x32>(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, accumulate, c, cOffset, ldc, threads, bias, biasOffset, rowsDone);
        else
            TiledGemm.Sgemm<Tile6x16>(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, accumulate, c, cOffset, ldc, threads, bias, biasOffset, rowsDone);
    }

    /// <summary>The product on the calling thread alone, for callers that already run one product per core, such
    /// as the attention heads: single-threaded OpenBLAS in the split mode (1.5-3x the managed kernel on a head's
    /// 96 x 96 x 32 products), else the managed kernel on one thread (a multi-threaded OpenBLAS must not be entered
    /// from several threads).</summary>
    internal static void SgemmSerial(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc)
    {
        if (CheckedAndTrivial(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc)) return;
        _ = splitInitialised;
        if (Selected == GemmBackend.OpenBlas && splitAcrossCores)
        {
            threadsGate.EnterReadLock();
            try
            {
                OpenBlas.Sgemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);
            }
            finally
            {
                threadsGate.ExitReadLock();
            }
            return;
        }
        ManagedGemm.Sgemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc, ManagedKernel.Auto, 1);
    }

    /// <summary>
    /// The product on the given backend, so tests and benchmarks can run both in one process. Arguments are checked against the array lengths first: neither backend bounds-checks.
    /// </summary>
    public static void SgemmWith(GemmBackend backend, bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc)
    {
        if (CheckedAndTrivial(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc)) return;
        if (backend == GemmBackend.OpenBlas)
        {
            if (!OpenBlas.IsAvailable) throw OpenBlasMissing();
            OpenBlasSplit(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);
            return;
        }
        ManagedGemm.Sgemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc,
            ManagedKernel.Auto, Threads.Serial ? 1 : Environment.ProcessorCount);
    }

    /// <summary>
    /// True (the default; <c>MMEUREKA_BLAS_SPLIT=0</c> turns it off): OpenBLAS runs one thread per call and the engine
    /// splits a product into one row (or column) slice per core itself, except for products of at least
    /// <see cref="OpenBlasThreadedThreshold"/> multiply-adds, which OpenBLAS threads itself. OpenBLAS's own pool
    /// busy-waits (sched_yield) between calls, which steals the cores from the engine's parallel loops (attention
    /// heads, element-wise chunks) and collapses when other processes share the machine; pool threads of .NET block
    /// instead. False: every call goes to OpenBLAS with all cores, one call at a time.
    /// </summary>
    public static bool SplitAcrossCores
    {
        get => splitAcrossCores;
        set
        {
            threadsGate.EnterWriteLock();
            try
            {
                splitAcrossCores = value;
                if (OpenBlas.IsAvailable && OpenBlas.NumThreads != null) OpenBlas.SetNumThreads(value ? 1 : Environment.ProcessorCount);
            }
            finally
            {
                threadsGate.ExitWriteLock();
            }
        }
    }
    // OpenBLAS with its own threads is not safe to enter from several threads at once (Debian's 0.3.21 segfaults or
    // aborts with "too many memory regions" under concurrent callers): such a call holds the write side, while
    // single-threaded calls, which may run concurrently, share the read side. Declared before splitInitialised,
    // which uses it: static fields initialise in order.
    static readonly ReaderWriterLockSlim threadsGate = new(LockRecursionPolicy.SupportsRecursion);
    static bool splitAcrossCores;
    static readonly bool splitInitialised = InitSplit();

    static bool InitSplit()
    {
        SplitAcrossCores = Environment.GetEnvironmentVariable("MMEUREKA_BLAS_SPLIT") != "0";
        return true;
    }

    /// <summary>From this many multiply-adds on (2^20, a 128^3 product is 2^21) a product with more than
    /// <see cref="SkinnyRows"/> rows is cut into one slice per core: at n = 128 one core reached 0.69x of OpenBLAS's
    /// own two threads. The environment variable <c>MMEUREKA_SPLIT_THRESHOLD</c> overrides it.</summary>
    public static long SplitThreshold { get; set; } =
        long.TryParse(Environment.GetEnvironmentVariable("MMEUREKA_SPLIT_THRESHOLD"), out var t) ? t : 1L << 20;

    /// <summary>Products with at most this many rows and fewer than <see cref="SkinnyMaxWork"/> multiply-adds stay on
    /// one core: decoding's skinny products (a batch of 64 rows x 128 x 512) measured slower split (85 vs 74 us for
    /// 64 x 128 x 384 on a busy machine), and PyTorch's own best configuration for sampling is one thread; samplers
    /// run batch shards on separate cores instead (<see cref="torch.parallel_shards"/>).</summary>
    public static int SkinnyRows { get; set; } = 64;

    /// <summary>See <see cref="SkinnyRows"/>: 2^24, four times decoding's largest product.</summary>
    public static long SkinnyMaxWork { get; set; } = 1L << 24;

    /// <summary>From this many multiply-adds on (2^29, about 810^3) the split mode hands the product to OpenBLAS's
    /// own threads (one such call at a time): at n = 1024 two row slices that each pack all of B measured 0.84x of
    /// OpenBLAS threading itself, which shares its packed panels. The training step's products (at most 2^28) stay
    /// split. <c>MMEUREKA_BLAS_THREADED_MIN</c> overrides it.</summary>
    public static long OpenBlasThreadedThreshold { get; set; } =
        long.TryParse(Environment.GetEnvironmentVariable("MMEUREKA_BLAS_THREADED_MIN"), out var m) ? m : 1L << 29;

    static void OpenBlasSplit(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc)
    {
        _ = splitInitialised;
        long work = (long)m * n * k;
        bool serial = Threads.Serial;
        if (!splitAcrossCores || (!serial && work >= OpenBlasThreadedThreshold && Environment.ProcessorCount > 1))
        {
            threadsGate.EnterWriteLock();
            try
            {
                if (splitAcrossCores) OpenBlas.SetNumThreads(Environment.ProcessorCount);
                try
                {
                    OpenBlas.Sgemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);
                }
                finally
                {
                    if (splitAcrossCores) OpenBlas.SetNumThreads(1);
                }
            }
            finally
            {
                threadsGate.ExitWriteLock();
            }
            return;
        }
        int cores = Environment.ProcessorCount;
        bool splitRows = m >= n;
        int granule = splitRows ? 8 : 16;
        int tiles = ((splitRows ? m : n) + granule - 1) / granule;
        bool skinny = m <= SkinnyRows && work < SkinnyMaxWork;
        int parts = serial || work < SplitThreshold || skinny ? 1 : Math.Min(cores, tiles);
        threadsGate.EnterReadLock();
        try
        {
            if (parts <= 1)
            {
                OpenBlas.Sgemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);
                return;
            }
            // The calling thread holds the read side for its helpers, which then need not take it themselves.
            CoreTeam.RunSlices(splitRows ? m : n, granule, parts, (t0, t1) =>
            {
                if (splitRows)
                    OpenBlas.Sgemm(transA, transB, t1 - t0, n, k, alpha, a, aOffset + (transA ? t0 : t0 * lda), lda,
                        b, bOffset, ldb, beta, c, cOffset + t0 * ldc, ldc);
                else
                    OpenBlas.Sgemm(transA, transB, m, t1 - t0, k, alpha, a, aOffset, lda,
                        b, bOffset + (transB ? t0 * ldb : t0), ldb, beta, c, cOffset + t0, ldc);
            });
        }
        finally
        {
            threadsGate.ExitReadLock();
        }
    }

    /// <summary>Validates the arguments; true when the product is already done (empty C, or k = 0: C = beta C).</summary>
    static bool CheckedAndTrivial(bool transA, bool transB, int m, int n, int k,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc)
    {
        Validate(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc);
        if (m == 0 || n == 0) return true;
        if (k != 0) return false;
        ScaleC(m, n, beta, c, cOffset, ldc);
        return true;
    }

    static void ScaleC(int m, int n, float beta, float[] c, int cOffset, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var row = c.AsSpan(cOffset + i * ldc, n);
            if (beta == 0f) row.Clear();
            else if (beta != 1f) Simd.Multiply(row, beta, row);
        }
    }

    static void Validate(bool transA, bool transB, int m, int n, int k,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float[] c, int cOffset, int ldc)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(c);
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"negative dimension (m={m}, n={n}, k={k})");
        // Stored shapes: A is m x k (or k x m when transposed), B is k x n (or n x k), C is m x n.
        CheckOperand("A", a, aOffset, lda, transA ? k : m, transA ? m : k);
        CheckOperand("B", b, bOffset, ldb, transB ? n : k, transB ? k : n);
        CheckOperand("C", c, cOffset, ldc, m, n);
    }

    static void CheckOperand(string name, float[] x, int offset, int ld, int rows, int cols)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"ld{name.ToLowerInvariant()}={ld} is smaller than the {cols} stored columns of {name}");
        if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset), $"{name} offset {offset} is negative");
        if (rows == 0 || cols == 0) return;
        long last = offset + (long)(rows - 1) * ld + cols;
        if (last > x.Length)
            throw new ArgumentException(
                $"{name} needs {last} elements ({rows} x {cols}, ld {ld}, offset {offset}) but the array has {x.Length}");
    }

    /// <summary>The triple loop, kept as the reference the fast backends are tested against.</summary>
    public static void Reference(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[aOffset + p * lda + i] : a[aOffset + i * lda + p];
                    float bv = transB ? b[bOffset + j * ldb + p] : b[bOffset + p * ldb + j];
                    sum += (double)av * bv;
                }
                int ci = cOffset + i * ldc + j;
                c[ci] = (float)(alpha * sum + (beta == 0 ? 0 : beta * c[ci]));
            }
    }
}
