using System.Numerics.Tensors;

namespace MMEureka.Torch;

/// <summary>A binary float kernel; the span forms are the vectorised fast paths (TensorPrimitives where it has one).</summary>
internal interface IBinaryOp
{
    static abstract float Apply(float a, float b);
    static abstract void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d);
    static abstract void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d);
    static abstract void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d);
}

internal static class Loops
{
    public static void Span<T>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) where T : IBinaryOp
    {
        for (int i = 0; i < d.Length; i++) d[i] = T.Apply(a[i], b[i]);
    }
    public static void SpanScalar<T>(ReadOnlySpan<float> a, float b, Span<float> d) where T : IBinaryOp
    {
        for (int i = 0; i < d.Length; i++) d[i] = T.Apply(a[i], b);
    }
    public static void ScalarSpan<T>(float a, ReadOnlySpan<float> b, Span<float> d) where T : IBinaryOp
    {
        for (int i = 0; i < d.Length; i++) d[i] = T.Apply(a, b[i]);
    }

    /// <summary>Runs <paramref name="body"/>(start, length) over [0, n) in parallel chunks when n is large.</summary>
    public static void Chunked(int n, int minChunk, Action<int, int> body)
    {
        int chunks = Threads.Serial ? 1 : Math.Min(Environment.ProcessorCount * 4, n / Math.Max(minChunk, 1));
        if (chunks <= 1)
        {
            body(0, n);
            return;
        }
        int size = (n + chunks - 1) / chunks;
        Parallel.For(0, chunks, c =>
        {
            int start = c * size;
            if (start < n) body(start, Math.Min(size, n - start));
        });
    }
}

internal struct AddOp : IBinaryOp
{
    public static float Apply(float a, float b) => a + b;
    public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => Simd.Add(a, b, d);
    public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => Simd.Add(a, b, d);
    public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => Simd.Add(b, a, d);
}

internal struct SubOp : IBinaryOp
{
    public static float Apply(float a, float b) => a - b;
    public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => Simd.Subtract(a, b, d);
    public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => Simd.Subtract(a, b, d);
    public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => Simd.Subtract(a, b, d);
}

internal struct MulOp : IBinaryOp
{
    public static float Apply(float a, float b) => a * b;
    public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => Simd.Multiply(a, b, d);
    public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => Simd.Multiply(a, b, d);
    public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => Simd.Multiply(b, a, d);
}

internal struct DivOp : IBinaryOp
{
    public static float Apply(float a, float b) => a / b;
    public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Divide(a, b, d);
    public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Divide(a, b, d);
    public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Divide(a, b, d);
}

/// <summary>Returns the second operand: used by copy_ and fill_.</summary>
internal struct SecondOp : IBinaryOp
{
    public static float Apply(float a, float b) => b;
    public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => b.CopyTo(d);
    public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => d.Fill(b);
    public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => b.CopyTo(d);
}

internal struct MaxOp : IBinaryOp
{
    public static float Apply(float a, float b) => MathF.Max(a, b);
    public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Max(a, b, d);
    public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Max(a, b, d);
    public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Max(b, a, d);
}

internal struct MinOp : IBinaryOp
{
    public static float Apply(float a, float b) => MathF.Min(a, b);
    public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Min(a, b, d);
    public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => TensorPrimitives.Min(a, b, d);
    public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => TensorPrimitives.Min(b, a, d);
}

internal struct PowOp : IBinaryOp
{
    public static float Apply(float a, float b) => b == 2 ? a * a : MathF.Pow(a, b);
    public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => Loops.Span<PowOp>(a, b, d);
    public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d)
    {
        if (b == 2) Simd.Multiply(a, a, d);
        else Loops.SpanScalar<PowOp>(a, b, d);
    }
    public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => Loops.ScalarSpan<PowOp>(a, b, d);
}

internal struct EqOp : IBinaryOp
{
    public static float Apply(float a, float b) => a == b ? 1 : 0;
    public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => Loops.Span<EqOp>(a, b, d);
    public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => Loops.SpanScalar<EqOp>(a, b, d);
    public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => Loops.ScalarSpan<EqOp>(a, b, d);
}

internal struct GtOp : IBinaryOp
{
    public static float Apply(float a, float b) => a > b ? 1 : 0;
    public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => Loops.Span<GtOp>(a, b, d);
    public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => Loops.SpanScalar<GtOp>(a, b, d);
    public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => Loops.ScalarSpan<GtOp>(a, b, d);
}

internal struct GeOp : IBinaryOp
{
    public static float Apply(float a, float b) => a >= b ? 1 : 0;
    public static void Span(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d) => Loops.Span<GeOp>(a, b, d);
    public static void SpanScalar(ReadOnlySpan<float> a, float b, Span<float> d) => Loops.SpanScalar<GeOp>(a, b, d);
    public static void ScalarSpan(float a, ReadOnlySpan<float> b, Span<float> d) => Loops.ScalarSpan<GeOp>(a, b, d);
}

// Element-wise arithmetic with broadcasting, and its gradients (summed back over broadcast dimensions).
public sealed partial class Tensor
{
    internal static Tensor Scalar(float v) => new([v], []);

    /// <summary>Applies a binary kernel over the broadcast shape of a and b into a new contiguous tensor.</summary>
    internal static Tensor Binary<TOp>(Tensor a, Tensor b) where TOp : IBinaryOp
    {
        var sizes = a.SameShape(b) ? (int[])a.Sizes.Clone() : Broadcast.Shape(a.Sizes, b.Sizes);
        var dst = Buffers.Uninitialized(NumelOf(sizes));
        var loop = new StridedLoop(sizes, [Broadcast.Strides(a, sizes), Broadcast.Strides(b, sizes), ContiguousStrides(sizes)],
            [a.Offset, b.Offset, 0]);
        while (loop.Next())
            Row<TOp>(a.Storage, loop.Offset(0), loop.InnerStride(0), b.Storage, loop.Offset(1), loop.InnerStride(1),
                dst.AsSpan(loop.Offset(2), loop.InnerSize));
        return new Tensor(dst, sizes);
    }

    private static void Row<TOp>(float[] a, int ao, int sa, float[] b, int bo, int sb, Span<float> d) where TOp : IBinaryOp
    {
        int n = d.Length;
        if (sa == 1 && sb == 1) TOp.Span(a.AsSpan(ao, n), b.AsSpan(bo, n), d);
        else if (sa == 1 && sb == 0) TOp.SpanScalar(a.AsSpan(ao, n), b[bo], d);
        else if (sa == 0 && sb == 1) TOp.ScalarSpan(a[ao], b.AsSpan(bo, n), d);
        else
            for (int i = 0; i < n; i++) d[i] = TOp.Apply(a[ao + i * sa], b[bo + i * sb]);
    }

    /// <summary>this = op(this, other) in place, other broadcast to this shape.</summary>
    internal Tensor InPlace<TOp>(Tensor other) where TOp : IBinaryOp
    {
        CheckInPlace();
        var loop = new StridedLoop(Sizes, [Strides, Broadcast.Strides(other, Sizes)], [Offset, other.Offset]);
        while (loop.Next())
        {
            int o = loop.Offset(0), s = loop.InnerStride(0), n = loop.InnerSize;
            if (s == 1)
                Row<TOp>(Storage, o, 1, other.Storage, loop.Offset(1), loop.InnerStride(1), Storage.AsSpan(o, n));
            else
                for (int i = 0; i < n; i++)
                    Storage[o + i * s] = TOp.Apply(Storage[o + i * s], other.Storage[loop.Offset(1) + i * loop.InnerStride(1)]);
        }
        return this;
    }

    private void CheckInPlace()
    {
        if (requires_grad && Autograd.Enabled)
            throw new InvalidOperationException(is_leaf
                ? "a leaf tensor that requires grad is being used in an in-place operation; wrap it in torch.no_grad()"
                : "in-place operations on tensors recorded for autograd are not supported; use the out-of-place op");
    }

    // ---------------------------------------------------------------- out-of-place binary ops

    /// <summary>this + alpha * other (broadcasting).</summary>
    public Tensor add(Tensor other, float alpha = 1)
    {
        var b = alpha == 1 ? other : Binary<MulOp>(other, Scalar(alpha));
        var result = Binary<AddOp>(this, b);
        var (sa, sb) = (Sizes, other.Sizes);
        return Autograd.Record(result, "AddBackward", [this, other], g =>
            [SumTo(g, sa), other.requires_grad ? SumTo(alpha == 1 ? g : g.mul(alpha), sb) : null]);
    }

    /// <summary>this + scalar.</summary>
    public Tensor add(float scalar) => Autograd.Record(Binary<AddOp>(this, Scalar(scalar)), "AddBackward", [this], g => [g]);

    /// <summary>this - alpha * other (broadcasting).</summary>
    public Tensor sub(Tensor other, float alpha = 1)
    {
        var b = alpha == 1 ? other : Binary<MulOp>(other, Scalar(alpha));
        var result = Binary<SubOp>(this, b);
        var (sa, sb) = (Sizes, other.Sizes);
        return Autograd.Record(result, "SubBackward", [this, other], g =>
            [SumTo(g, sa), other.requires_grad ? SumTo(g.mul(-alpha), sb) : null]);
    }

    /// <summary>this - scalar.</summary>
    public Tensor sub(float scalar) => add(-scalar);

    /// <summary>Element-wise product (broadcasting).</summary>
    public Tensor mul(Tensor other)
    {
        var result = Binary<MulOp>(this, other);
        var a = this;
        return Autograd.Record(result, "MulBackward", [this, other], g =>
            [a.requires_grad ? SumTo(g.mul(other), a.Sizes) : null, other.requires_grad ? SumTo(g.mul(a), other.Sizes) : null]);
    }

    /// <summary>this * scalar.</summary>
    public Tensor mul(float scalar) => Autograd.Record(Binary<MulOp>(this, Scalar(scalar)), "MulBackward", [this], g => [g.mul(scalar)]);

    /// <summary>Element-wise quotient (broadcasting).</summary>
    public Tensor div(Tensor other)
    {
        var result = Binary<DivOp>(this, other);
        var a = this;
        return Autograd.Record(result, "DivBackward", [this, other], g =>
        [
            a.requires_grad ? SumTo(g.div(other), a.Sizes) : null,
            other.requires_grad ? SumTo(g.mul(result).div(other).neg(), other.Sizes) : null,
        ]);
    }

    /// <summary>this / scalar.</summary>
    public Tensor div(float scalar) => mul(1f / scalar);

    /// <summary>scalar - this.</summary>
    public Tensor rsub(float scalar) => Autograd.Record(Binary<SubOp>(Scalar(scalar), this), "RsubBackward", [this], g => [g.neg()]);

    /// <summary>scalar / this.</summary>
    public Tensor rdiv(float scalar)
    {
        var result = Binary<DivOp>(Scalar(scalar), this);
        var x = this;
        return Autograd.Record(result, "RdivBackward", [this], g => [g.mul(result).div(x).neg()]);
    }

    /// <summary>Element-wise maximum of two tensors (gradient split evenly on ties, like PyTorch).</summary>
    public Tensor maximum(Tensor other) => MinMax<MaxOp>(other, "MaximumBackward", greater: true);

    /// <summary>Element-wise minimum of two tensors (gradient split evenly on ties, like PyTorch).</summary>
    public Tensor minimum(Tensor other) => MinMax<MinOp>(other, "MinimumBackward", greater: false);

    private Tensor MinMax<TOp>(Tensor other, string name, bool greater) where TOp : IBinaryOp
    {
        var result = Binary<TOp>(this, other);
        var a = this;
        return Autograd.Record(result, name, [this, other], g =>
        {
            // Weight of a: 1 where a wins, 0.5 on ties, 0 where b wins.
            var wins = greater ? Binary<GtOp>(a, other) : Binary<GtOp>(other, a);
            var wa = wins.add(Binary<EqOp>(a, other).mul(0.5f));
            return [a.requires_grad ? SumTo(g.mul(wa), a.Sizes) : null, other.requires_grad ? SumTo(g.mul(wa.rsub(1)), other.Sizes) : null];
        });
    }

    /// <summary>this ^ exponent.</summary>
    public Tensor pow(float exponent)
    {
        var result = Binary<PowOp>(this, Scalar(exponent));
        var x = this;
        return Autograd.Record(result, "PowBackward", [this], g => [g.mul(x.pow(exponent - 1).mul(exponent))]);
    }

    /// <summary>this squared.</summary>
    public Tensor square() => pow(2);

    // ---------------------------------------------------------------- comparisons (no gradient; 1 = true)

    /// <summary>1 where equal, else 0.</summary>
    public Tensor eq(Tensor other) => Binary<EqOp>(this, other);
    /// <summary>1 where equal to <paramref name="v"/>, else 0.</summary>
    public Tensor eq(float v) => Binary<EqOp>(this, Scalar(v));
    /// <summary>1 where not equal, else 0.</summary>
    public Tensor ne(float v) => eq(v).rsub(1).detach();
    /// <summary>1 where this &gt; other.</summary>
    public Tensor gt(Tensor other) => Binary<GtOp>(this, other);
    /// <summary>1 where this &gt; v.</summary>
    public Tensor gt(float v) => Binary<GtOp>(this, Scalar(v));
    /// <summary>1 where this &gt;= other.</summary>
    public Tensor ge(Tensor other) => Binary<GeOp>(this, other);
    /// <summary>1 where this &gt;= v.</summary>
    public Tensor ge(float v) => Binary<GeOp>(this, Scalar(v));
    /// <summary>1 where this &lt; other.</summary>
    public Tensor lt(Tensor other) => Binary<GtOp>(other, this);
    /// <summary>1 where this &lt; v.</summary>
    public Tensor lt(float v) => Binary<GtOp>(Scalar(v), this);
    /// <summary>1 where this &lt;= v.</summary>
    public Tensor le(float v) => Binary<GeOp>(Scalar(v), this);

    // ---------------------------------------------------------------- in-place (outside autograd only)

    /// <summary>this += alpha * other.</summary>
    public Tensor add_(Tensor other, float alpha = 1) => alpha == 1 ? InPlace<AddOp>(other) : InPlace<AddOp>(other.detach().mul(alpha));
    /// <summary>this += scalar.</summary>
    public Tensor add_(float scalar) => InPlace<AddOp>(Scalar(scalar));
    /// <summary>this -= other.</summary>
    public Tensor sub_(Tensor other) => InPlace<SubOp>(other);
    /// <summary>this *= other.</summary>
    public Tensor mul_(Tensor other) => InPlace<MulOp>(other);
    /// <summary>this *= scalar.</summary>
    public Tensor mul_(float scalar) => InPlace<MulOp>(Scalar(scalar));
    /// <summary>this /= scalar.</summary>
    public Tensor div_(float scalar) => InPlace<MulOp>(Scalar(1f / scalar));
    /// <summary>Copies (broadcasting) the values of <paramref name="src"/> into this tensor's storage.</summary>
    public Tensor copy_(Tensor src) => InPlace<SecondOp>(src);
    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public Tensor fill_(float value) => InPlace<SecondOp>(Scalar(value));
    /// <summary>Sets every element to 0.</summary>
    public Tensor zero_() => fill_(0);
    /// <summary>Clamps in place to [min, max].</summary>
    public Tensor clamp_(float? min = null, float? max = null)
    {
        if (min.HasValue) InPlace<MaxOp>(Scalar(min.Value));
        if (max.HasValue) InPlace<MinOp>(Scalar(max.Value));
        return this;
    }

    // ---------------------------------------------------------------- operators

    public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
    public static Tensor operator +(Tensor a, float b) => a.add(b);
    public static Tensor operator +(float a, Tensor b) => b.add(a);
    public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
    public static Tensor operator -(Tensor a, float b) => a.add(-b);
    public static Tensor operator -(float a, Tensor b) => b.rsub(a);
    public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
    public static Tensor operator *(Tensor a, float b) => a.mul(b);
    public static Tensor operator *(float a, Tensor b) => b.mul(a);
    public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
    public static Tensor operator /(Tensor a, float b) => a.div(b);
    public static Tensor operator /(float a, Tensor b) => b.rdiv(a);
    public static Tensor operator -(Tensor a) => a.neg();
}
