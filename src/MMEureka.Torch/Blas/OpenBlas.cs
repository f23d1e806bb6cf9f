using System.Runtime.InteropServices;

namespace MMEureka.Torch.Blas;

/// <summary>
/// OpenBLAS bound at run time: the first library among <see cref="Candidates"/> that loads and exports
/// <c>cblas_sgemm</c>. Function pointers instead of <c>DllImport</c>, so that a missing library is a value
/// (<see cref="IsAvailable"/>) rather than a <see cref="DllNotFoundException"/> on first call.
/// </summary>
public static unsafe class OpenBlas
{
    // CBLAS enum values (cblas.h).
    const int RowMajor = 101, NoTrans = 111, Trans = 112;

    /// <summary>Library names tried in order (Linux soname, Debian alternatives path, macOS, Windows).</summary>
    public static readonly IReadOnlyList<string> Candidates =
    [
        "libopenblas.so.0",
        "libopenblas.so",
        "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
        "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
        "libopenblas.dylib",
        "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
        "libopenblas.dll",
        "openblas.dll",
    ];

    static readonly delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> sgemm;
    static readonly delegate* unmanaged[Cdecl]<int, void> setThreads;
    static readonly delegate* unmanaged[Cdecl]<int> getThreads;

    /// <summary>True when a library exporting <c>cblas_sgemm</c> was loaded.</summary>
    public static bool IsAvailable { get; }

    /// <summary>The candidate name that loaded, or null.</summary>
    public static string? LibraryName { get; }

    static OpenBlas()
    {
        foreach (var name in Candidates)
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            if (!NativeLibrary.TryGetExport(handle, "cblas_sgemm", out var f))
            {
                NativeLibrary.Free(handle);
                continue;
            }
            sgemm = (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)f;
            if (NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var s))
                setThreads = (delegate* unmanaged[Cdecl]<int, void>)s;
            if (NativeLibrary.TryGetExport(handle, "openblas_get_num_threads", out var g))
                getThreads = (delegate* unmanaged[Cdecl]<int>)g;
            IsAvailable = true;
            LibraryName = name;
            return;
        }
    }

    /// <summary>OpenBLAS's worker thread count, or null when the library does not export the query.</summary>
    public static int? NumThreads => getThreads != null ? getThreads() : null;

    /// <summary>Sets OpenBLAS's worker thread count (e.g. 1 when the caller parallelises across products).</summary>
    public static void SetNumThreads(int threads)
    {
        if (setThreads == null) throw new InvalidOperationException("The loaded BLAS has no openblas_set_num_threads.");
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        setThreads(threads);
    }

    /// <summary>
    /// Calls <c>cblas_sgemm</c> (row-major). Arguments must already be validated: native code does no bounds checks.
    /// </summary>
    internal static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc)
    {
        if (!IsAvailable) throw new InvalidOperationException("OpenBLAS is not loaded.");
        fixed (float* pa = a, pb = b, pc = c)
            sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k,
                alpha, pa + aOffset, lda, pb + bOffset, ldb, beta, pc + cOffset, ldc);
    }
}
