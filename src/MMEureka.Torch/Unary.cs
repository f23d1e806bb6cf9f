using System.Numerics.Tensors;

namespace MMEureka.Torch;

// Element-wise functions of one tensor. Each computes into a new contiguous buffer (in parallel chunks when the
// tensor is large) and records a backward that uses the saved input or output.
public sealed partial class Tensor
{
    /// <summary>Applies <paramref name="kernel"/>(src, dst) over the elements, chunked across cores when large.</summary>
    internal Tensor Map(SpanAction kernel, int minChunk = 1 << 15)
    {
        var src = is_contiguous() ? this : new Tensor(ToArray(), Sizes);
        var dst = Buffers.Uninitialized(Numel);
        int off = src.Offset;
        Loops.Chunked(dst.Length, minChunk, (start, n) => kernel(src.Storage.AsSpan(off + start, n), dst.AsSpan(start, n)));
        return new Tensor(dst, (int[])Sizes.Clone());
    }

    internal delegate void SpanAction(ReadOnlySpan<float> src, Span<float> dst);

    /// <summary>Applies <paramref name="kernel"/>(x, g, dst) to two same-shaped tensors: the usual backward shape.</summary>
    internal static Tensor Map2(Tensor x, Tensor g, Span2Action kernel, int minChunk = 1 << 15)
    {
        var xs = x.is_contiguous() ? x : new Tensor(x.ToArray(), x.Sizes);
        var gs = g.is_contiguous() ? g : new Tensor(g.ToArray(), g.Sizes);
        var dst = Buffers.Uninitialized(x.Numel);
        Loops.Chunked(dst.Length, minChunk, (start, n) =>
            kernel(xs.Storage.AsSpan(xs.Offset + start, n), gs.Storage.AsSpan(gs.Offset + start, n), dst.AsSpan(start, n)));
        return new Tensor(dst, (int[])x.Sizes.Clone());
    }

    internal delegate void Span2Action(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> dst);

    /// <summary>-this.</summary>
    public Tensor neg() => Autograd.Record(Map(TensorPrimitives.Negate), "NegBackward", [this], g => [g.neg()]);

    /// <summary>e^this.</summary>
    public Tensor exp()
    {
        var y = Map(TensorPrimitives.Exp);
        return Autograd.Record(y, "ExpBackward", [this], g => [g.mul(y)]);
    }

    /// <summary>Natural logarithm.</summary>
    public Tensor log()
    {
        var x = this;
        return Autograd.Record(Map(TensorPrimitives.Log), "LogBackward", [this], g => [g.div(x)]);
    }

    /// <summary>Square root.</summary>
    public Tensor sqrt()
    {
        var y = Map(TensorPrimitives.Sqrt);
        return Autograd.Record(y, "SqrtBackward", [this], g => [g.div(y).mul(0.5f)]);
    }

    /// <summary>1 / sqrt(this).</summary>
    public Tensor rsqrt()
    {
        var y = Map((s, d) =>
        {
            TensorPrimitives.Sqrt(s, d);
            TensorPrimitives.Divide(1f, d, d);
        });
        // d/dx x^-1/2 = -1/2 x^-3/2 = -1/2 y^3
        return Autograd.Record(y, "RsqrtBackward", [this], g => [g.mul(y.pow(3)).mul(-0.5f)]);
    }

    /// <summary>Absolute value.</summary>
    public Tensor abs()
    {
        var x = this;
        return Autograd.Record(Map(TensorPrimitives.Abs), "AbsBackward", [this], g => [Map2(x, g, (xs, gs, d) =>
        {
            for (int i = 0; i < d.Length; i++) d[i] = xs[i] > 0 ? gs[i] : xs[i] < 0 ? -gs[i] : 0;
        })]);
    }

    /// <summary>Limits values to [min, max]; the gradient passes only where the input was inside.</summary>
    public Tensor clamp(float? min = null, float? max = null)
    {
        float lo = min ?? float.NegativeInfinity, hi = max ?? float.PositiveInfinity;
        var x = this;
        var y = Map((s, d) =>
        {
            TensorPrimitives.Max(s, lo, d);
            TensorPrimitives.Min(d, hi, d);
        });
        return Autograd.Record(y, "ClampBackward", [this], g => [Map2(x, g, (xs, gs, d) =>
        {
            for (int i = 0; i < d.Length; i++) d[i] = xs[i] >= lo && xs[i] <= hi ? gs[i] : 0;
        })]);
    }

    /// <summary>Hyperbolic tangent.</summary>
    public Tensor tanh()
    {
        var y = Map(TensorPrimitives.Tanh);
        return Autograd.Record(y, "TanhBackward", [this], g => [Map2(y, g, (ys, gs, d) =>
        {
            for (int i = 0; i < d.Length; i++) d[i] = gs[i] * (1 - ys[i] * ys[i]);
        })]);
    }

    /// <summary>Logistic function 1 / (1 + e^-x).</summary>
    public Tensor sigmoid()
    {
        var y = Map(TensorPrimitives.Sigmoid);
        return Autograd.Record(y, "SigmoidBackward", [this], g => [Map2(y, g, (ys, gs, d) =>
        {
            for (int i = 0; i < d.Length; i++) d[i] = gs[i] * ys[i] * (1 - ys[i]);
        })]);
    }

    /// <summary>max(x, 0).</summary>
    public Tensor relu()
    {
        var x = this;
        return Autograd.Record(Map((s, d) => TensorPrimitives.Max(s, 0f, d)), "ReluBackward", [this], g => [Map2(x, g, (xs, gs, d) =>
        {
            for (int i = 0; i < d.Length; i++) d[i] = xs[i] > 0 ? gs[i] : 0;
        })]);
    }

    /// <summary>x * sigmoid(x) (SiLU / swish).</summary>
    public Tensor silu()
    {
        var x = this;
        var y = Map((s, d) =>
        {
            TensorPrimitives.Sigmoid(s, d);
            Simd.Multiply(s, d, d);
        });
        return Autograd.Record(y, "SiluBackward", [this], g => [Map2(x, g, (xs, gs, d) =>
        {
            for (int i = 0; i < d.Length; i++)
            {
                float s = 1f / (1f + MathF.Exp(-xs[i]));
                d[i] = gs[i] * s * (1 + xs[i] * (1 - s));
            }
        })]);
    }

    /// <summary>Exact GELU: x * Φ(x) = 0.5 x (1 + erf(x / √2)).</summary>
    public Tensor gelu()
    {
        // With a backward to come, the forward also writes the slope Φ(x) + x φ(x) (d/dx x Φ(x)), which shares
        // erf's exponentials; the backward is then g * slope.
        if (!Autograd.Enabled || !requires_grad)
            return Autograd.Record(Map(Gelu.Forward, minChunk: 1 << 16), "GeluBackward", [this], _ => throw new InvalidOperationException("no backward without grad"));
        var src = is_contiguous() ? this : new Tensor(ToArray(), Sizes);
        var y = Buffers.Uninitialized(Numel);
        var slope = Buffers.Uninitialized(Numel);
        Loops.Chunked(y.Length, 1 << 16, (start, n) =>
            Gelu.Forward(src.Storage.AsSpan(src.Offset + start, n), y.AsSpan(start, n), slope.AsSpan(start, n)));
        var slopes = new Tensor(slope, (int[])Sizes.Clone());
        return Autograd.Record(new Tensor(y, (int[])Sizes.Clone()), "GeluBackward", [this],
            g => [Map2(slopes, g, Simd.Multiply, minChunk: 1 << 16)], scratch: [slope]);
    }
}

/// <summary>Float approximations of special functions the activations need.</summary>
internal static class SpecialFunctions
{
    public const float InvSqrt2 = 0.70710678118654752f;
    public const float InvSqrt2Pi = 0.39894228040143268f;

    /// <summary>Error function via the Chebyshev fit of erfc in Numerical Recipes (6.2), fractional error &lt; 1.2e-7.</summary>
    public static float Erf(float x)
    {
        float z = MathF.Abs(x);
        float t = 1f / (1f + 0.5f * z);
        float poly = -z * z - 1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f +
                     t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
        float erfc = t * MathF.Exp(poly);
        return x >= 0 ? 1f - erfc : erfc - 1f;
    }
}
