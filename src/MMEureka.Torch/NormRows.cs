using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MMEureka.Torch;

/// <summary>
/// One row of LayerNorm / RMSNorm (Ba et al. 2016; Zhang and Sennrich 2019), forward and backward, in two passes
/// over the row each instead of one span call per term: at the model width (128) a row is 16 vectors, so the calls'
/// own cost was most of the time. The arithmetic per element is the one the span form had (products and sums rounded
/// separately; the sums of squares and of dh * x̂ with fused multiply-adds).
/// </summary>
internal static class NormRows
{
    /// <summary>x̂ = (x - mean) * rstd, y = x̂ * w + b (w, b may be empty: 1 and 0); returns rstd = 1 / sqrt(var + eps).
    /// RMS: mean = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Forward(ReadOnlySpan<float> x, Span<float> xhat, Span<float> y, ReadOnlySpan<float> w, ReadOnlySpan<float> b, float eps, bool rms)
    {
        int n = x.Length, i = 0;
        if (xhat.Length < n || y.Length < n || (!w.IsEmpty && w.Length < n) || (!b.IsEmpty && b.Length < n))
            throw new ArgumentException("LayerNorm row spans are shorter than the input row");
        float mean = rms ? 0 : Simd.Sum(x) / n;
        ref float rx = ref MemoryMarshal.GetReference(x), rh = ref MemoryMarshal.GetReference(xhat), ry = ref MemoryMarshal.GetReference(y);
        ref float rw = ref MemoryMarshal.GetReference(w), rb = ref MemoryMarshal.GetReference(b);
        var vm = Vector256.Create(mean);
        var acc = Vector256<float>.Zero;
        for (; i <= n - 8; i += 8)
        {
            var d = Vector256.LoadUnsafe(ref rx, (nuint)i) - vm;
            d.StoreUnsafe(ref rh, (nuint)i);
            acc = Vector256.FusedMultiplyAdd(d, d, acc);
        }
        float squares = Vector256.Sum(acc);
        for (; i < n; i++)
        {
            float d = Unsafe.Add(ref rx, i) - mean;
            Unsafe.Add(ref rh, i) = d;
            squares = MathF.FusedMultiplyAdd(d, d, squares);
        }
        float s = 1f / MathF.Sqrt(squares / n + eps);
        bool hasW = !w.IsEmpty, hasB = !b.IsEmpty;
        var vs = Vector256.Create(s);
        for (i = 0; i <= n - 8; i += 8)
        {
            var h = Vector256.LoadUnsafe(ref rh, (nuint)i) * vs;
            h.StoreUnsafe(ref rh, (nuint)i);
            if (hasW) h *= Vector256.LoadUnsafe(ref rw, (nuint)i);
            if (hasB) h += Vector256.LoadUnsafe(ref rb, (nuint)i);
            h.StoreUnsafe(ref ry, (nuint)i);
        }
        for (; i < n; i++)
        {
            float h = Unsafe.Add(ref rh, i) * s;
            Unsafe.Add(ref rh, i) = h;
            if (hasW) h *= Unsafe.Add(ref rw, i);
            if (hasB) h += Unsafe.Add(ref rb, i);
            Unsafe.Add(ref ry, i) = h;
        }
        return s;
    }

    /// <summary>dw += g x̂, db += g, and dx = rstd (dh - mean(dh) - x̂ mean(dh x̂)) with dh = g w (g without w); RMS drops
    /// the mean(dh) term.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> xhat, ReadOnlySpan<float> w, float rstd,
        Span<float> dw, Span<float> db, Span<float> dx, bool rms)
    {
        int n = g.Length, i = 0;
        if (xhat.Length < n || dx.Length < n || dw.Length < n || db.Length < n || (!w.IsEmpty && w.Length < n))
            throw new ArgumentException("LayerNorm row spans are shorter than the gradient row");
        bool hasW = !w.IsEmpty;
        ref float rg = ref MemoryMarshal.GetReference(g), rh = ref MemoryMarshal.GetReference(xhat), rw = ref MemoryMarshal.GetReference(w);
        ref float rdw = ref MemoryMarshal.GetReference(dw), rdb = ref MemoryMarshal.GetReference(db), rdx = ref MemoryMarshal.GetReference(dx);
        Vector256<float> sumDh = Vector256<float>.Zero, sumDhH = Vector256<float>.Zero;
        for (; i <= n - 8; i += 8)
        {
            var gv = Vector256.LoadUnsafe(ref rg, (nuint)i);
            var h = Vector256.LoadUnsafe(ref rh, (nuint)i);
            (gv * h + Vector256.LoadUnsafe(ref rdw, (nuint)i)).StoreUnsafe(ref rdw, (nuint)i);
            (gv + Vector256.LoadUnsafe(ref rdb, (nuint)i)).StoreUnsafe(ref rdb, (nuint)i);
            var dh = hasW ? gv * Vector256.LoadUnsafe(ref rw, (nuint)i) : gv;
            sumDh += dh;
            sumDhH = Vector256.FusedMultiplyAdd(dh, h, sumDhH);
        }
        float sDh = Vector256.Sum(sumDh), sDhH = Vector256.Sum(sumDhH);
        for (; i < n; i++)
        {
            float gv = Unsafe.Add(ref rg, i), h = Unsafe.Add(ref rh, i);
            Unsafe.Add(ref rdw, i) = gv * h + Unsafe.Add(ref rdw, i);
            Unsafe.Add(ref rdb, i) = gv + Unsafe.Add(ref rdb, i);
            float dh = hasW ? gv * Unsafe.Add(ref rw, i) : gv;
            sDh += dh;
            sDhH = MathF.FusedMultiplyAdd(dh, h, sDhH);
        }
        float meanDh = rms ? 0 : sDh / n, meanDhH = sDhH / n;
        var vMeanDh = Vector256.Create(meanDh);
        var vNegMeanDhH = Vector256.Create(-meanDhH);
        var vRstd = Vector256.Create(rstd);
        for (i = 0; i <= n - 8; i += 8)
        {
            var gv = Vector256.LoadUnsafe(ref rg, (nuint)i);
            var dh = hasW ? gv * Vector256.LoadUnsafe(ref rw, (nuint)i) : gv;
            ((Vector256.LoadUnsafe(ref rh, (nuint)i) * vNegMeanDhH + dh - vMeanDh) * vRstd).StoreUnsafe(ref rdx, (nuint)i);
        }
        for (; i < n; i++)
        {
            float gv = Unsafe.Add(ref rg, i);
            float dh = hasW ? gv * Unsafe.Add(ref rw, i) : gv;
            Unsafe.Add(ref rdx, i) = (Unsafe.Add(ref rh, i) * -meanDhH + dh - meanDh) * rstd;
        }
    }
}
