using MMEureka.Torch.Blas;

namespace MMEureka.Torch.Tests;

/// <summary>A fact that is reported as skipped (with the reason) when no OpenBLAS can be loaded.</summary>
public sealed class OpenBlasFactAttribute : FactAttribute
{
    public OpenBlasFactAttribute() => Skip = MissingReason;

    /// <summary>Null when OpenBLAS loaded, else why its tests are skipped.</summary>
    internal static string? MissingReason => OpenBlas.IsAvailable ? null
        : "OpenBLAS not loadable (tried " + string.Join(", ", OpenBlas.Candidates) + "); install libopenblas0-pthread";
}

/// <summary>A theory that is reported as skipped (with the reason) when no OpenBLAS can be loaded.</summary>
public sealed class OpenBlasTheoryAttribute : TheoryAttribute
{
    public OpenBlasTheoryAttribute() => Skip = OpenBlasFactAttribute.MissingReason;
}

/// <summary>A theory that is reported as skipped when the CPU does not run Vector512 natively (no AVX-512).</summary>
public sealed class Avx512TheoryAttribute : TheoryAttribute
{
    public Avx512TheoryAttribute()
    {
        if (!Tile12x32.IsSupported) Skip = "no AVX-512 (Vector512 not hardware-accelerated) on this CPU";
    }
}

/// <summary>A theory that is reported as skipped when the CPU has no AVX2 with FMA.</summary>
public sealed class Avx2TheoryAttribute : TheoryAttribute
{
    public Avx2TheoryAttribute()
    {
        if (!Tile6x16.IsSupported) Skip = "no AVX2 + FMA on this CPU";
    }
}

public class GemmTests
{
    /// <summary>How a case is run: a public backend, or the managed kernel pinned to a micro-kernel and thread count.</summary>
    public enum Runner { OpenBlas, Managed, ManagedSerial, ManagedPortable, Tile12x32, Tile12x32Split, Tile6x16, Tile6x16Split, Dispatch }

    static readonly int[] Sizes = [1, 7, 33, 130];

    static void Run(Runner runner, bool ta, bool tb, int m, int n, int k, float alpha,
        float[] a, int ao, int lda, float[] b, int bo, int ldb, float beta, float[] c, int co, int ldc)
    {
        switch (runner)
        {
            case Runner.OpenBlas:
                Gemm.SgemmWith(GemmBackend.OpenBlas, ta, tb, m, n, k, alpha, a, ao, lda, b, bo, ldb, beta, c, co, ldc);
                break;
            case Runner.Managed:
                Gemm.SgemmWith(GemmBackend.Managed, ta, tb, m, n, k, alpha, a, ao, lda, b, bo, ldb, beta, c, co, ldc);
                break;
            case Runner.ManagedSerial:
                ManagedGemm.Sgemm(ta, tb, m, n, k, alpha, a, ao, lda, b, bo, ldb, beta, c, co, ldc, ManagedKernel.Auto, 1);
                break;
            case Runner.ManagedPortable:
                ManagedGemm.Sgemm(ta, tb, m, n, k, alpha, a, ao, lda, b, bo, ldb, beta, c, co, ldc, ManagedKernel.Portable, 4);
                break;
            case Runner.Tile12x32 or Runner.Tile12x32Split:
                Assert.Equal(1f, alpha);
                Assert.True(beta is 0f or 1f);
                TiledGemm.Sgemm<Tile12x32>(ta, tb, m, n, k, a, ao, lda, b, bo, ldb, beta == 1f, c, co, ldc, runner == Runner.Tile12x32 ? 1 : 3);
                break;
            case Runner.Tile6x16 or Runner.Tile6x16Split:
                Assert.Equal(1f, alpha);
                Assert.True(beta is 0f or 1f);
                TiledGemm.Sgemm<Tile6x16>(ta, tb, m, n, k, a, ao, lda, b, bo, ldb, beta == 1f, c, co, ldc, runner == Runner.Tile6x16 ? 1 : 3);
                break;
            case Runner.Dispatch:
                Gemm.Sgemm(ta, tb, m, n, k, alpha, a, ao, lda, b, bo, ldb, beta, c, co, ldc);
                break;
        }
    }

    static float[] Random(Random rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>
    /// Runs one product on <paramref name="runner"/> and on <see cref="Gemm.Reference"/> with padded leading
    /// dimensions and offsets, then checks every element of C: inside the m x n window against the reference within
    /// the float accumulation bound, outside it (padding) bit-identical to the input.
    /// </summary>
    static void Check(Runner runner, bool ta, bool tb, int m, int n, int k, float alpha, float beta, int seed, bool nanC = false)
    {
        var rng = new Random(seed);
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        int lda = aCols + 3, ldb = bCols + 5, ldc = n + 2;
        int ao = 4, bo = 1, co = 3;
        var a = Random(rng, ao + aRows * lda + 2);
        var b = Random(rng, bo + bRows * ldb + 2);
        var c0 = Random(rng, co + m * ldc + 2);
        if (nanC)
            for (int i = 0; i < m; i++) c0.AsSpan(co + i * ldc, n).Fill(float.NaN);
        var expected = (float[])c0.Clone();
        var actual = (float[])c0.Clone();
        Gemm.Reference(ta, tb, m, n, k, alpha, a, ao, lda, b, bo, ldb, beta, expected, co, ldc);
        Run(runner, ta, tb, m, n, k, alpha, a, ao, lda, b, bo, ldb, beta, actual, co, ldc);

        // The same product on |A|, |B|, |alpha|, |beta|, |C| bounds the magnitudes the rounding errors scale with.
        var absA = a.Select(MathF.Abs).ToArray();
        var absB = b.Select(MathF.Abs).ToArray();
        var bound = c0.Select(v => float.IsNaN(v) ? 0f : MathF.Abs(v)).ToArray();
        Gemm.Reference(ta, tb, m, n, k, MathF.Abs(alpha), absA, ao, lda, absB, bo, ldb, MathF.Abs(beta), bound, co, ldc);
        const float eps = 1.2e-7f;
        for (int idx = 0; idx < c0.Length; idx++)
        {
            int rel = idx - co, i = rel / ldc, j = rel % ldc;
            bool inside = rel >= 0 && i < m && j < n;
            if (!inside)
            {
                Assert.True(BitConverter.SingleToInt32Bits(c0[idx]) == BitConverter.SingleToInt32Bits(actual[idx]),
                    $"{runner} ta={ta} tb={tb} {m}x{n}x{k}: wrote outside C at index {idx}");
                continue;
            }
            float tol = (k + 3) * eps * bound[idx];
            Assert.False(float.IsNaN(actual[idx]), $"{runner} ta={ta} tb={tb} {m}x{n}x{k}: NaN at ({i},{j})");
            Assert.True(MathF.Abs(actual[idx] - expected[idx]) <= tol,
                $"{runner} ta={ta} tb={tb} {m}x{n}x{k} alpha={alpha} beta={beta}: C[{i},{j}] = {actual[idx]}, reference {expected[idx]} (tol {tol})");
        }
    }

    public static TheoryData<Runner, bool, bool> ManagedCases()
    {
        var data = new TheoryData<Runner, bool, bool>();
        foreach (var r in new[] { Runner.Managed, Runner.ManagedSerial, Runner.ManagedPortable })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    data.Add(r, ta, tb);
        return data;
    }

    public static TheoryData<bool, bool> Transposes() => new() { { false, false }, { false, true }, { true, false }, { true, true } };

    static void AllSizes(Runner runner, bool ta, bool tb)
    {
        int seed = 0;
        foreach (int m in Sizes)
            foreach (int n in Sizes)
                foreach (int k in Sizes)
                {
                    seed++;
                    // Cycle through alpha/beta regimes: plain product, scaled accumulate, beta = 0 over garbage.
                    (float alpha, float beta) = (seed % 3) switch { 0 => (1f, 0f), 1 => (-0.75f, 1.5f), _ => (2f, 1f) };
                    Check(runner, ta, tb, m, n, k, alpha, beta, seed);
                }
    }

    [Theory]
    [MemberData(nameof(ManagedCases))]
    public void Managed_matches_reference_on_odd_sizes(Runner runner, bool ta, bool tb) => AllSizes(runner, ta, tb);

    [OpenBlasTheory]
    [MemberData(nameof(Transposes))]
    public void OpenBlas_matches_reference_on_odd_sizes(bool ta, bool tb) => AllSizes(Runner.OpenBlas, ta, tb);

    static TheoryData<Runner, bool, bool> TileCases(params Runner[] runners)
    {
        var data = new TheoryData<Runner, bool, bool>();
        foreach (var r in runners)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    data.Add(r, ta, tb);
        return data;
    }

    public static TheoryData<Runner, bool, bool> Avx512Cases() => TileCases(Runner.Tile12x32, Runner.Tile12x32Split);
    public static TheoryData<Runner, bool, bool> Avx2Cases() => TileCases(Runner.Tile6x16, Runner.Tile6x16Split);

    /// <summary>The 12 x 32 tile's edges (rows 11/12/13/25, columns 31/32/33), k across its k-blocks (600 > 512; 130
    /// with n = 2100, whose packed B allows only 64-deep blocks), transposed A across its 60-row packing chunks (130 =
    /// 60 + 60 + 10 at k = 600), C = AB over NaN and C += AB.</summary>
    [Avx512Theory]
    [MemberData(nameof(Avx512Cases))]
    public void Tile12x32_matches_reference_on_tile_edges_and_k_blocks(Runner runner, bool ta, bool tb) => TileEdges(runner, ta, tb, 12, 32);

    /// <summary>The same for the 6 x 16 tile (rows 5/6/7/13, columns 15/16/17; transposed A in 60-row chunks too).</summary>
    [Avx2Theory]
    [MemberData(nameof(Avx2Cases))]
    public void Tile6x16_matches_reference_on_tile_edges_and_k_blocks(Runner runner, bool ta, bool tb) => TileEdges(runner, ta, tb, 6, 16);

    static void TileEdges(Runner runner, bool ta, bool tb, int mr, int nr)
    {
        int seed = 100;
        foreach (int m in new[] { 1, mr - 1, mr, mr + 1, 2 * mr + 1, 130 })
            foreach (int n in new[] { 1, nr - 1, nr, nr + 1, 97 })
                foreach (int k in new[] { 1, 7, 129, 600 })
                {
                    seed++;
                    Check(runner, ta, tb, m, n, k, 1f, seed % 2 == 0 ? 0f : 1f, seed, nanC: seed % 2 == 0);
                }
        Check(runner, ta, tb, 13, 2100, 130, 1f, 1f, seed: 99);
        Check(runner, ta, tb, 37, 2100, 130, 1f, 0f, seed: 98, nanC: true);
    }

    /// <summary>The tiled driver's bias and strip epilogue on both orientations of A (Gemm only sends untransposed A
    /// with a bias on AVX2, so the transposed packing with a bias is reached here): C = op(A) op(B) + bias over NaN,
    /// bias read from an offset, every row reported exactly once and only after its last k-block (k = 600: two
    /// blocks), on one thread and split (row parts; without rowsDone, column parts with their own bias offset).</summary>
    [Avx2Theory]
    [MemberData(nameof(Transposes))]
    public void Tiled_bias_and_row_epilogue_on_either_orientation_and_split(bool ta, bool tb)
    {
        foreach (int threads in new[] { 1, 3 })
            foreach (var (m, n, k, epilogue) in new[] { (130, 97, 600, true), (25, 300, 129, false), (7, 17, 5, true) })
            {
                int stride = n + 3;
                var seen = Enumerable.Repeat(float.NaN, m * stride).ToArray();
                var times = new int[m];
                var result = CheckBiased(ta, tb, m, n, k, m * 7 + n + k + threads, $"threads={threads}", (a, lda, b, ldb, bias, c, ldc) =>
                    TiledGemm.Sgemm<Tile6x16>(ta, tb, m, n, k, a, 0, lda, b, 0, ldb, false, c, 0, ldc, threads, bias, 5, epilogue ? (r0, rows) =>
                    {
                        Array.Copy(c, r0 * ldc, seen, r0 * ldc, rows * ldc);
                        for (int r = r0; r < r0 + rows; r++) Interlocked.Increment(ref times[r]);
                    } : null));
                if (!epilogue) continue;
                Assert.All(times, t => Assert.Equal(1, t));
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                        Assert.Equal(result[i * stride + j], seen[i * stride + j]);
            }
    }

    /// <summary>op(A) op(B) + bias through <paramref name="run"/>(a, lda, b, ldb, bias, c, ldc), with padded leading
    /// dimensions, the bias read from offset 5 and C starting as NaN, checked against the reference: every element of
    /// a row within the float accumulation bound, the padding past each row still NaN. Returns C (ldc = n + 3).</summary>
    static float[] CheckBiased(bool ta, bool tb, int m, int n, int k, int seed, string label,
        Action<float[], int, float[], int, float[], float[], int> run)
    {
        var rng = new Random(seed);
        int lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 3;
        var a = Random(rng, (ta ? k : m) * lda);
        var b = Random(rng, (tb ? n : k) * ldb);
        var bias = Random(rng, n + 5);
        var expected = new float[m * ldc];
        for (int i = 0; i < m; i++) Array.Copy(bias, 5, expected, i * ldc, n);
        Gemm.Reference(ta, tb, m, n, k, 1f, a, 0, lda, b, 0, ldb, 1f, expected, 0, ldc);
        var actual = Enumerable.Repeat(float.NaN, m * ldc).ToArray();
        run(a, lda, b, ldb, bias, actual, ldc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
            {
                float e = expected[i * ldc + j], v = actual[i * ldc + j];
                if (j >= n) { Assert.True(float.IsNaN(v), $"{m}x{n}x{k}: wrote C[{i},{j}] past the row"); continue; }
                Assert.True(MathF.Abs(v - e) <= (k + 3) * 1.2e-7f * (k + 1), $"ta={ta} tb={tb} {m}x{n}x{k} {label}: C[{i},{j}] = {v}, reference {e}");
            }
        return actual;
    }

    /// <summary>A product's bits do not depend on how many parts it is cut into: 100 x 1024 x 256 is cut into column
    /// parts, each 512 or fewer columns wide, which on their own would get k-blocks twice as deep (one block of 256
    /// instead of two of 128) and so other roundings; with the depth taken from the whole product they match one
    /// thread bit for bit. Also a row split with transposed A across its packing chunks.</summary>
    [Avx2Theory]
    [MemberData(nameof(Transposes))]
    public void Tiled_results_do_not_depend_on_the_number_of_parts(bool ta, bool tb)
    {
        foreach (var (m, n, k) in new[] { (100, 1024, 256), (300, 40, 700) })
        {
            var rng = new Random(m + n + k);
            int lda = ta ? m : k, ldb = tb ? k : n;
            var a = Random(rng, (ta ? k : m) * lda);
            var b = Random(rng, (tb ? n : k) * ldb);
            var bias = Random(rng, n);
            var one = new float[m * n];
            TiledGemm.Sgemm<Tile6x16>(ta, tb, m, n, k, a, 0, lda, b, 0, ldb, false, one, 0, n, 1, bias);
            foreach (int threads in new[] { 2, 3, 7 })
            {
                var split = new float[m * n];
                TiledGemm.Sgemm<Tile6x16>(ta, tb, m, n, k, a, 0, lda, b, 0, ldb, false, split, 0, n, threads, bias);
                Assert.Equal(one, split);
            }
        }
    }

    /// <summary>Gemm.Sgemm with a linear layer's shapes (300 x 384 x 128 is past the tiled kernel's threshold, as are
    /// the other two) gives the reference's numbers whichever kernel it picks, including alpha and beta the tiled
    /// kernel leaves to the backend.</summary>
    [Theory]
    [MemberData(nameof(Transposes))]
    public void Sgemm_dispatch_matches_reference_on_linear_layer_shapes(bool ta, bool tb)
    {
        Check(Runner.Dispatch, ta, tb, 300, 384, 128, 1f, 0f, seed: 31, nanC: true);
        Check(Runner.Dispatch, ta, tb, 301, 130, 520, 1f, 1f, seed: 32);
        Check(Runner.Dispatch, ta, tb, 300, 384, 128, 0.5f, 2f, seed: 33);
    }

    /// <summary>SgemmEpilogue = reference product over C filled with the bias rows, whichever path it takes: the tiled
    /// kernel's store (300 x 97 x 600: full and edge tiles, two k-blocks; 301 x 128 x 128: a one-row tail; 100 x 600 x 200:
    /// column slices per core on a multi-core machine) or the fill
    /// then add of the backend (10 x 33 x 7, under the tiled kernel's threshold); the old contents of C (NaN) never leak.</summary>
    [Theory]
    [MemberData(nameof(Transposes))]
    public void SgemmEpilogue_adds_the_bias_to_every_row(bool ta, bool tb)
    {
        int seed = 40;
        foreach (var (m, n, k) in new[] { (300, 97, 600), (301, 128, 128), (100, 600, 200), (10, 33, 7) })
            CheckBiased(ta, tb, m, n, k, seed++, "", (a, lda, b, ldb, bias, c, ldc) =>
                Gemm.SgemmEpilogue(ta, tb, m, n, k, a, 0, lda, b, 0, ldb, bias, 5, c, 0, ldc, null));
    }

    /// <summary>SgemmEpilogue's rowsDone sees every row of C exactly once and only with its final values: across the
    /// tiled kernel's k-blocks (k = 600), its row slices per core and a partial last strip, and on the backend path.</summary>
    [Fact]
    public void SgemmEpilogue_reports_each_finished_row_once()
    {
        foreach (var (m, n, k) in new[] { (301, 96, 600), (10, 33, 7) })
        {
            var rng = new Random(50 + m);
            var a = Random(rng, m * k);
            var b = Random(rng, k * n);
            var c = new float[m * n];
            var seen = new float[m * n];
            var times = new int[m];
            Gemm.SgemmEpilogue(false, false, m, n, k, a, 0, k, b, 0, n, null, 0, c, 0, n, (r0, rows) =>
            {
                Array.Copy(c, r0 * n, seen, r0 * n, rows * n);
                for (int r = r0; r < r0 + rows; r++) Interlocked.Increment(ref times[r]);
            });
            Assert.All(times, t => Assert.Equal(1, t));
            Assert.Equal(c, seen);
            var expected = new float[m * n];
            Gemm.Reference(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, expected, 0, n);
            for (int i = 0; i < c.Length; i++) Assert.True(MathF.Abs(c[i] - expected[i]) <= 1e-3f, $"{m}x{n}x{k}: C[{i}] = {c[i]}, reference {expected[i]}");
        }
    }

    [OpenBlasTheory]
    [MemberData(nameof(Transposes))]
    public void OpenBlas_split_across_cores_matches_reference(bool ta, bool tb)
    {
        Assert.True(Gemm.SplitAcrossCores);
        // 300 x 257 x 129 splits rows, 129 x 300 x 257 splits columns; with the threshold at 0 even 10 x 3 x 5 is cut
        // into an 8-row and a 2-row slice (and 3 x 17 x 4 into 16 + 1 columns).
        Check(Runner.OpenBlas, ta, tb, 300, 257, 129, 1.25f, 0.5f, seed: 21);
        Check(Runner.OpenBlas, ta, tb, 129, 300, 257, -1f, 2f, seed: 22);
        long before = Gemm.SplitThreshold;
        int skinny = Gemm.SkinnyRows;
        try
        {
            Gemm.SplitThreshold = 0;
            Gemm.SkinnyRows = 0;
            Check(Runner.OpenBlas, ta, tb, 10, 3, 5, 1f, 0f, seed: 23, nanC: true);
            Check(Runner.OpenBlas, ta, tb, 3, 17, 4, 0.5f, 1f, seed: 24);
        }
        finally
        {
            Gemm.SplitThreshold = before;
            Gemm.SkinnyRows = skinny;
        }
    }

    [OpenBlasTheory]
    [MemberData(nameof(Transposes))]
    public void OpenBlas_threaded_path_of_the_split_mode_matches_reference(bool ta, bool tb)
    {
        long before = Gemm.OpenBlasThreadedThreshold;
        try
        {
            Gemm.OpenBlasThreadedThreshold = 0;
            Check(Runner.OpenBlas, ta, tb, 130, 33, 7, 1.25f, 0.5f, seed: 25);
            Check(Runner.OpenBlas, ta, tb, 7, 130, 33, 1f, 0f, seed: 26, nanC: true);
        }
        finally
        {
            Gemm.OpenBlasThreadedThreshold = before;
        }
    }

    /// <summary>Starts <paramref name="callers"/> threads at once, caller t multiplying the first rowsOf(t) rows of
    /// one n x n product 20 times through OpenBLAS; returns how many callers got a wrong result.</summary>
    private static int WrongResultsFromConcurrentCallers(int callers, int n, int seed, Func<int, int> rowsOf)
    {
        var a = new float[n * n];
        var b = new float[n * n];
        var rng = new Random(seed);
        for (int i = 0; i < a.Length; i++) { a[i] = (float)rng.NextDouble() - 0.5f; b[i] = (float)rng.NextDouble() - 0.5f; }
        var expected = new float[n * n];
        Gemm.Reference(false, false, n, n, n, 1, a, 0, n, b, 0, n, 0, expected, 0, n);
        int wrong = 0;
        using var start = new Barrier(callers);
        var threads = Enumerable.Range(0, callers).Select(t => new Thread(() =>
        {
            var c = new float[n * n];
            int rows = rowsOf(t);
            start.SignalAndWait();
            for (int r = 0; r < 20; r++) Gemm.SgemmWith(GemmBackend.OpenBlas, false, false, rows, n, n, 1, a, 0, n, b, 0, n, 0, c, 0, n);
            for (int i = 0; i < rows * n; i++)
                if (Math.Abs(c[i] - expected[i]) > 1e-4f) { Interlocked.Increment(ref wrong); break; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return wrong;
    }

    [OpenBlasFact]
    public void Split_mode_survives_threaded_and_single_threaded_callers_at_once()
    {
        // Half the callers take OpenBLAS's threaded path, the others (one row fewer: below the threshold) the
        // single-threaded one: the threaded calls must never overlap another call into the library.
        const int n = 96;
        long before = Gemm.OpenBlasThreadedThreshold;
        int wrong;
        try
        {
            Gemm.OpenBlasThreadedThreshold = (long)n * n * n;
            wrong = WrongResultsFromConcurrentCallers(64, n, seed: 6, t => t % 2 == 0 ? n : n - 1);
        }
        finally
        {
            Gemm.OpenBlasThreadedThreshold = before;
        }
        Assert.Equal(0, wrong);
        Assert.True(Gemm.SplitAcrossCores);
        if (OpenBlas.NumThreads is int poolThreads) Assert.Equal(1, poolThreads);
    }

    [OpenBlasFact]
    public void OpenBlas_with_its_own_threads_survives_many_concurrent_callers()
    {
        // Debian's OpenBLAS 0.3.21 segfaulted here (200 threads entering a multi-threaded OpenBLAS at once) before
        // Gemm serialised calls in that mode (this test crashed the test host then); the split mode calls a single-threaded OpenBLAS and needs no lock.
        bool before = Gemm.SplitAcrossCores;
        const int n = 256;
        int wrong;
        try
        {
            Gemm.SplitAcrossCores = false;
            wrong = WrongResultsFromConcurrentCallers(200, n, seed: 5, _ => n);
        }
        finally
        {
            Gemm.SplitAcrossCores = before;
        }
        Assert.Equal(0, wrong);
    }

    [Theory]
    [MemberData(nameof(ManagedCases))]
    public void Managed_matches_reference_across_block_boundaries(Runner runner, bool ta, bool tb)
    {
        // 300 x 257 x 129 splits rows across threads; 129 x 300 x 257 splits columns and crosses KC = 256, where
        // beta must be applied once; 7 x 3100 crosses NC.
        Check(runner, ta, tb, 300, 257, 129, 1.25f, 0.5f, seed: 11);
        Check(runner, ta, tb, 129, 300, 257, -1f, 2f, seed: 12);
        Check(runner, ta, tb, 7, ManagedGemm.NC + 28, 33, 1f, 1f, seed: 13);
    }

    [OpenBlasTheory]
    [MemberData(nameof(Transposes))]
    public void OpenBlas_matches_reference_on_a_large_product(bool ta, bool tb)
        => Check(Runner.OpenBlas, ta, tb, 300, 257, 129, 1.25f, 0.5f, seed: 11);

    [Theory]
    [InlineData(Runner.Managed)]
    [InlineData(Runner.ManagedPortable)]
    public void Beta_zero_ignores_nan_in_c(Runner runner)
    {
        Check(runner, false, false, 7, 33, 130, 1f, 0f, seed: 5, nanC: true);
        Check(runner, true, true, 130, 33, 7, 0.5f, 0f, seed: 6, nanC: true);
    }

    [OpenBlasFact]
    public void OpenBlas_beta_zero_ignores_nan_in_c() => Check(Runner.OpenBlas, false, true, 33, 130, 7, 1f, 0f, seed: 7, nanC: true);

    [Theory]
    [InlineData(GemmBackend.Managed)]
    [InlineData(GemmBackend.OpenBlas)]
    public void Empty_inner_dimension_scales_c_by_beta(GemmBackend backend)
    {
        var c = new[] { 1f, 2f, 3f, 4f, float.NaN, float.NaN };
        Gemm.SgemmWith(backend, false, false, 2, 2, 0, 1f, [], 0, 1, [], 0, 2, 3f, c, 0, 2);
        Assert.Equal(new[] { 3f, 6f, 9f, 12f }, c[..4]);
        Gemm.SgemmWith(backend, false, false, 1, 2, 0, 1f, [], 0, 1, [], 0, 2, 0f, c, 4, 2);
        Assert.Equal(new[] { 0f, 0f }, c[4..]);
    }

    [Fact]
    public void Known_product_through_default_dispatch()
    {
        // [1 2 3; 4 5 6] * [7 8; 9 10; 11 12] = [58 64; 139 154]
        var c = new float[4];
        Gemm.Sgemm(false, false, 2, 2, 3, 1f, [1, 2, 3, 4, 5, 6], 0, 3, [7, 8, 9, 10, 11, 12], 0, 2, 0f, c, 0, 2);
        Assert.Equal(new[] { 58f, 64f, 139f, 154f }, c);
    }

    [Theory]
    [InlineData(GemmBackend.Managed)]
    [InlineData(GemmBackend.OpenBlas)]
    public void Rejects_arrays_too_small_for_the_shape(GemmBackend backend)
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Gemm.SgemmWith(backend, false, false, 4, 4, 4, 1f, new float[15], 0, 4, new float[16], 0, 4, 0f, new float[16], 0, 4));
        Assert.Contains("A needs 16 elements", ex.Message);
        ex = Assert.Throws<ArgumentException>(() =>
            Gemm.SgemmWith(backend, false, true, 4, 4, 4, 1f, new float[16], 0, 4, new float[16], 0, 3, 0f, new float[16], 0, 4));
        Assert.Contains("ldb=3", ex.Message);
        ex = Assert.Throws<ArgumentException>(() =>
            Gemm.SgemmWith(backend, false, false, 4, 4, 4, 1f, new float[16], 0, 4, new float[16], 0, 4, 0f, new float[17], 2, 4));
        Assert.Contains("C needs 18 elements", ex.Message);
    }

    [Fact]
    public void Backend_selection_follows_the_environment_variable()
    {
        Assert.Equal(GemmBackend.OpenBlas, Gemm.Resolve(null, openBlasAvailable: true));
        Assert.Equal(GemmBackend.Managed, Gemm.Resolve("", openBlasAvailable: false));
        Assert.Equal(GemmBackend.Managed, Gemm.Resolve("managed", openBlasAvailable: true));
        Assert.Equal(GemmBackend.OpenBlas, Gemm.Resolve(" OpenBLAS ", openBlasAvailable: true));
        var missing = Assert.Throws<InvalidOperationException>(() => Gemm.Resolve("openblas", openBlasAvailable: false));
        Assert.Contains("MMEUREKA_BLAS=openblas", missing.Message);
        Assert.Contains("libopenblas.so.0", missing.Message);
        var bogus = Assert.Throws<InvalidOperationException>(() => Gemm.Resolve("mkl", openBlasAvailable: true));
        Assert.Contains("MMEUREKA_BLAS='mkl'", bogus.Message);
    }

    [Fact]
    public void Describe_names_the_backend_and_threads()
    {
        Assert.StartsWith(Gemm.Backend + " (", Gemm.Describe());
        Assert.Matches(@"^managed \(.+, \d+ threads\)$", Gemm.Describe(GemmBackend.Managed));
    }

    [OpenBlasFact]
    public void OpenBlas_is_found_and_reports_threads()
    {
        Assert.Matches(@"^openblas \(.*libopenblas.*, \d+ threads\)$", Gemm.Describe(GemmBackend.OpenBlas));
        int before = OpenBlas.NumThreads!.Value;
        Assert.True(before >= 1);
        try
        {
            OpenBlas.SetNumThreads(1);
            if (OpenBlas.NumThreads is int poolThreads) Assert.Equal(1, poolThreads);
        }
        finally
        {
            OpenBlas.SetNumThreads(before);
        }
        Assert.Equal(before, OpenBlas.NumThreads);
    }
}
