using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MMEureka.Torch;

/// <summary>Float exponentials eight or sixteen lanes at a time, shared by GELU and the softmax kernels.</summary>
internal static class VectorMath
{
    /// <summary>e^x in float (Cephes expf): x = n ln2 + r with |r| &lt;= ln2/2 (ln2 split in two for exactness),
    /// e^r by a degree-6 polynomial, 2^n built in the exponent bits; relative error about 1e-7. Below -87.3 the
    /// result is 0 and arguments are capped at 88 (the callers pass values &lt;= ~0). Vector256.Exp widens to
    /// double, which was the largest part of the GELU time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var underflow = Vector256.LessThan(x, Vector256.Create(-87.3f));
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(-87.3f)), Vector256.Create(88f));
        var n = Vector256.Round(x * Vector256.Create(1.44269504088896341f));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693359375f), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(2.12194440e-4f), r);
        var y = Vector256.FusedMultiplyAdd(Vector256.Create(1.9875691500e-4f), r, Vector256.Create(1.3981999507e-3f));
        y = Vector256.FusedMultiplyAdd(y, r, Vector256.Create(8.3334519073e-3f));
        y = Vector256.FusedMultiplyAdd(y, r, Vector256.Create(4.1665795894e-2f));
        y = Vector256.FusedMultiplyAdd(y, r, Vector256.Create(1.6666665459e-1f));
        y = Vector256.FusedMultiplyAdd(y, r, Vector256.Create(5.0000001201e-1f));
        y = Vector256.FusedMultiplyAdd(y, r * r, r + Vector256<float>.One);
        // After the clamp n lies in [-126, 127]: the conversion needs no saturation handling.
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();
        return Vector256.AndNot(y * scale, underflow.AsSingle());
    }

    /// <summary>The 16-lane twin of <see cref="Exp(Vector256{float})"/>, operation for operation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var underflow = Vector512.LessThan(x, Vector512.Create(-87.3f));
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-87.3f)), Vector512.Create(88f));
        var n = Vector512.Round(x * Vector512.Create(1.44269504088896341f));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var y = Vector512.FusedMultiplyAdd(Vector512.Create(1.9875691500e-4f), r, Vector512.Create(1.3981999507e-3f));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(8.3334519073e-3f));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(4.1665795894e-2f));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(1.6666665459e-1f));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(5.0000001201e-1f));
        y = Vector512.FusedMultiplyAdd(y, r * r, r + Vector512<float>.One);
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();
        return Vector512.AndNot(y * scale, underflow.AsSingle());
    }

    /// <summary>x[i] = e^(x[i] - shift) for every element; returns the sum of the results. With shift = max(x) this
    /// is the numerator of a softmax (all arguments &lt;= 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float ExpShiftedSum(Span<float> x, float shift)
    {
        int i = 0;
        float sum = 0;
        ref float xs = ref MemoryMarshal.GetReference(x);
        if (Vector512.IsHardwareAccelerated && x.Length >= 16)
        {
            var s = Vector512.Create(shift);
            var acc = Vector512<float>.Zero;
            for (; i <= x.Length - 16; i += 16)
            {
                var e = Exp(Vector512.LoadUnsafe(ref xs, (nuint)i) - s);
                e.StoreUnsafe(ref xs, (nuint)i);
                acc += e;
            }
            sum = Vector512.Sum(acc);
        }
        if (Vector256.IsHardwareAccelerated && x.Length - i >= 8)
        {
            var s = Vector256.Create(shift);
            var acc = Vector256<float>.Zero;
            for (; i <= x.Length - 8; i += 8)
            {
                var e = Exp(Vector256.LoadUnsafe(ref xs, (nuint)i) - s);
                e.StoreUnsafe(ref xs, (nuint)i);
                acc += e;
            }
            sum += Vector256.Sum(acc);
        }
        for (; i < x.Length; i++)
        {
            float e = MathF.Exp(x[i] - shift);
            x[i] = e;
            sum += e;
        }
        return sum;
    }
}
