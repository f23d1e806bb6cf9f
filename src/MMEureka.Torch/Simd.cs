using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MMEureka.Torch;

/// <summary>
/// The element-wise span kernels of the engine's hot loops (LayerNorm, softmax, attention, bias, residual adds),
/// with the same names and results as their <c>System.Numerics.Tensors.TensorPrimitives</c> counterparts
/// (reductions may round differently: they sum in another order). Why not TensorPrimitives itself: its generic
/// kernels start as unoptimised tier-0 code and are recompiled only after a quiet spell without new JIT work, which
/// a training loop on a busy core does not leave; measured on one core, the first ten training steps spent about a
/// quarter of their time in tier-0 TensorPrimitives code. These methods are compiled fully optimised on first call.
/// </summary>
internal static class Simd
{
    const MethodImplOptions Hot = MethodImplOptions.AggressiveOptimization;

    /// <summary>d = a + b.</summary>
    [MethodImpl(Hot)]
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d)
    {
        int n = Into(Same(a.Length, b.Length), d.Length), i = 0;
        ref float ra = ref MemoryMarshal.GetReference(a), rb = ref MemoryMarshal.GetReference(b), rd = ref MemoryMarshal.GetReference(d);
        for (; i <= n - 8; i += 8)
            (Vector256.LoadUnsafe(ref ra, (nuint)i) + Vector256.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref rd, i) = Unsafe.Add(ref ra, i) + Unsafe.Add(ref rb, i);
    }

    /// <summary>d = a + s.</summary>
    [MethodImpl(Hot)]
    public static void Add(ReadOnlySpan<float> a, float s, Span<float> d)
    {
        int n = Into(a.Length, d.Length), i = 0;
        ref float ra = ref MemoryMarshal.GetReference(a), rd = ref MemoryMarshal.GetReference(d);
        var vs = Vector256.Create(s);
        for (; i <= n - 8; i += 8) (Vector256.LoadUnsafe(ref ra, (nuint)i) + vs).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref rd, i) = Unsafe.Add(ref ra, i) + s;
    }

    /// <summary>d = a - b.</summary>
    [MethodImpl(Hot)]
    public static void Subtract(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d)
    {
        int n = Into(Same(a.Length, b.Length), d.Length), i = 0;
        ref float ra = ref MemoryMarshal.GetReference(a), rb = ref MemoryMarshal.GetReference(b), rd = ref MemoryMarshal.GetReference(d);
        for (; i <= n - 8; i += 8)
            (Vector256.LoadUnsafe(ref ra, (nuint)i) - Vector256.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref rd, i) = Unsafe.Add(ref ra, i) - Unsafe.Add(ref rb, i);
    }

    /// <summary>d = a - s.</summary>
    [MethodImpl(Hot)]
    public static void Subtract(ReadOnlySpan<float> a, float s, Span<float> d) => Add(a, -s, d);

    /// <summary>d = s - b.</summary>
    [MethodImpl(Hot)]
    public static void Subtract(float s, ReadOnlySpan<float> b, Span<float> d)
    {
        int n = Into(b.Length, d.Length), i = 0;
        ref float rb = ref MemoryMarshal.GetReference(b), rd = ref MemoryMarshal.GetReference(d);
        var vs = Vector256.Create(s);
        for (; i <= n - 8; i += 8) (vs - Vector256.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref rd, i) = s - Unsafe.Add(ref rb, i);
    }

    /// <summary>d = a * b.</summary>
    [MethodImpl(Hot)]
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d)
    {
        int n = Into(Same(a.Length, b.Length), d.Length), i = 0;
        ref float ra = ref MemoryMarshal.GetReference(a), rb = ref MemoryMarshal.GetReference(b), rd = ref MemoryMarshal.GetReference(d);
        for (; i <= n - 8; i += 8)
            (Vector256.LoadUnsafe(ref ra, (nuint)i) * Vector256.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref rd, i) = Unsafe.Add(ref ra, i) * Unsafe.Add(ref rb, i);
    }

    /// <summary>d = a * s.</summary>
    [MethodImpl(Hot)]
    public static void Multiply(ReadOnlySpan<float> a, float s, Span<float> d)
    {
        int n = Into(a.Length, d.Length), i = 0;
        ref float ra = ref MemoryMarshal.GetReference(a), rd = ref MemoryMarshal.GetReference(d);
        var vs = Vector256.Create(s);
        for (; i <= n - 8; i += 8) (Vector256.LoadUnsafe(ref ra, (nuint)i) * vs).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref rd, i) = Unsafe.Add(ref ra, i) * s;
    }

    /// <summary>d = a * b + c, rounded twice (a product, then a sum) like TensorPrimitives.MultiplyAdd.</summary>
    [MethodImpl(Hot)]
    public static void MultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, Span<float> d)
    {
        int n = Into(Same(Same(a.Length, b.Length), c.Length), d.Length), i = 0;
        ref float ra = ref MemoryMarshal.GetReference(a), rb = ref MemoryMarshal.GetReference(b);
        ref float rc = ref MemoryMarshal.GetReference(c), rd = ref MemoryMarshal.GetReference(d);
        for (; i <= n - 8; i += 8)
            (Vector256.LoadUnsafe(ref ra, (nuint)i) * Vector256.LoadUnsafe(ref rb, (nuint)i) + Vector256.LoadUnsafe(ref rc, (nuint)i))
                .StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref rd, i) = Unsafe.Add(ref ra, i) * Unsafe.Add(ref rb, i) + Unsafe.Add(ref rc, i);
    }

    /// <summary>d = a * s + c, rounded twice.</summary>
    [MethodImpl(Hot)]
    public static void MultiplyAdd(ReadOnlySpan<float> a, float s, ReadOnlySpan<float> c, Span<float> d)
    {
        int n = Into(Same(a.Length, c.Length), d.Length), i = 0;
        ref float ra = ref MemoryMarshal.GetReference(a), rc = ref MemoryMarshal.GetReference(c), rd = ref MemoryMarshal.GetReference(d);
        var vs = Vector256.Create(s);
        for (; i <= n - 8; i += 8)
            (Vector256.LoadUnsafe(ref ra, (nuint)i) * vs + Vector256.LoadUnsafe(ref rc, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref rd, i) = Unsafe.Add(ref ra, i) * s + Unsafe.Add(ref rc, i);
    }

    /// <summary>The sum of a (four vector accumulators, then the tail in order).</summary>
    [MethodImpl(Hot)]
    public static float Sum(ReadOnlySpan<float> a)
    {
        int n = a.Length, i = 0;
        ref float ra = ref MemoryMarshal.GetReference(a);
        var s0 = Vector256<float>.Zero; var s1 = s0; var s2 = s0; var s3 = s0;
        for (; i <= n - 32; i += 32)
        {
            s0 += Vector256.LoadUnsafe(ref ra, (nuint)i);
            s1 += Vector256.LoadUnsafe(ref ra, (nuint)(i + 8));
            s2 += Vector256.LoadUnsafe(ref ra, (nuint)(i + 16));
            s3 += Vector256.LoadUnsafe(ref ra, (nuint)(i + 24));
        }
        for (; i <= n - 8; i += 8) s0 += Vector256.LoadUnsafe(ref ra, (nuint)i);
        float sum = Vector256.Sum((s0 + s1) + (s2 + s3));
        for (; i < n; i++) sum += Unsafe.Add(ref ra, i);
        return sum;
    }

    /// <summary>The dot product of a and b (fused multiply-adds into four vector accumulators).</summary>
    [MethodImpl(Hot)]
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int n = Same(a.Length, b.Length), i = 0;
        ref float ra = ref MemoryMarshal.GetReference(a), rb = ref MemoryMarshal.GetReference(b);
        var s0 = Vector256<float>.Zero; var s1 = s0; var s2 = s0; var s3 = s0;
        for (; i <= n - 32; i += 32)
        {
            s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)i), Vector256.LoadUnsafe(ref rb, (nuint)i), s0);
            s1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)(i + 8)), Vector256.LoadUnsafe(ref rb, (nuint)(i + 8)), s1);
            s2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)(i + 16)), Vector256.LoadUnsafe(ref rb, (nuint)(i + 16)), s2);
            s3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)(i + 24)), Vector256.LoadUnsafe(ref rb, (nuint)(i + 24)), s3);
        }
        for (; i <= n - 8; i += 8)
            s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)i), Vector256.LoadUnsafe(ref rb, (nuint)i), s0);
        float sum = Vector256.Sum((s0 + s1) + (s2 + s3));
        for (; i < n; i++) sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i), sum);
        return sum;
    }

    /// <summary>The largest element of a non-empty span; NaN if any element is NaN.</summary>
    [MethodImpl(Hot)]
    public static float Max(ReadOnlySpan<float> a)
    {
        if (a.IsEmpty) throw new ArgumentException("Max of an empty span", nameof(a));
        int n = a.Length, i = 0;
        ref float ra = ref MemoryMarshal.GetReference(a);
        float max = a[0];
        if (n >= 8)
        {
            var m = Vector256.LoadUnsafe(ref ra);
            var nan = ~Vector256.Equals(m, m);
            for (i = 8; i <= n - 8; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref ra, (nuint)i);
                nan |= ~Vector256.Equals(v, v);
                m = Vector256.MaxNative(m, v);
            }
            if (nan != Vector256<float>.Zero) return float.NaN;
            max = m[0];
            for (int j = 1; j < 8; j++) max = MathF.Max(max, m[j]);
        }
        for (; i < n; i++) max = MathF.Max(max, Unsafe.Add(ref ra, i));
        return max;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Same(int a, int b)
    {
        if (a != b) throw new ArgumentException($"span lengths differ ({a} vs {b})");
        return a;
    }

    /// <summary>The input length n, when the destination holds at least n elements (as TensorPrimitives).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Into(int n, int destination)
    {
        if (destination < n) throw new ArgumentException($"destination too short ({destination} < {n})");
        return n;
    }
}
