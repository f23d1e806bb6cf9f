using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MMEureka.Torch;

/// <summary>
/// A pre-LN block's residual adds for inference (<see cref="torch.inference_mode"/>), done in the buffers of the
/// sublayers' fresh outputs, the add before the second norm fused with that norm: decoding a few rows, the two adds
/// and the norm were three ops of a few microseconds each whose cost was the op (a tensor, an array, the graph
/// bookkeeping), not the 768 additions. The arithmetic per element is the unfused ops': x + y is the same float sum
/// in either order, and each row is normalised by <see cref="NormRows.Forward"/> as layer_norm does, so the results
/// are the same bits.
/// </summary>
internal static class ResidualNorm
{
    /// <summary>Whether <paramref name="t"/> is an op's fresh, contiguous output that may be overwritten.</summary>
    public static bool Writable(Tensor t) => t.Offset == 0 && t.is_contiguous() && t.Storage.Length == t.Numel;

    /// <summary>y += x (same shapes, both contiguous; y writable); returns y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor AddInto(Tensor y, Tensor x)
    {
        var xs = x.Storage.AsSpan(x.Offset, x.Numel);
        var ys = y.Storage.AsSpan(0, y.Numel);
        int i = 0;
        for (; i <= ys.Length - 8; i += 8)
            (Vector256.Create(xs.Slice(i, 8)) + Vector256.Create(ys.Slice(i, 8))).CopyTo(ys.Slice(i, 8));
        for (; i < ys.Length; i++) ys[i] = xs[i] + ys[i];
        return y;
    }

    /// <summary>y += x as <see cref="AddInto"/>, then returns layer_norm(y) with <paramref name="norm"/>'s weight, bias
    /// and eps, as a new [same shape] tensor.</summary>
    public static Tensor AddThenNorm(Tensor y, Tensor x, Modules.LayerNorm norm)
    {
        AddInto(y, x);
        int width = y.Sizes[^1], rows = y.Numel / Math.Max(width, 1);
        var w = norm.weight?.contiguous().detach();
        var b = norm.bias?.contiguous().detach();
        var output = Buffers.Uninitialized(y.Numel);
        var xhat = Buffers.Scratch(ref _scratch, width).AsSpan(0, width);
        for (int r = 0; r < rows; r++)
            NormRows.Forward(y.Storage.AsSpan(r * width, width), xhat, output.AsSpan(r * width, width),
                w == null ? default : w.Span, b == null ? default : b.Span, norm.Eps, rms: false);
        if (Profiler.Enabled) Profiler.Charge("AddLayerNorm forward");
        return new Tensor(output, (int[])y.Sizes.Clone());
    }

    [ThreadStatic] private static float[]? _scratch;
}
