using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace MMEureka.Torch;

// Fused softmax / log-softmax over one dimension (rows of the last dimension after moving it there).
public sealed partial class Tensor
{
    /// <summary>Runs <paramref name="body"/>(row) for each row, in parallel chunks when rows * width is large.</summary>
    internal static void ForRows(int rows, int width, Action<int> body)
    {
        int minRows = Math.Max(1, (1 << 14) / Math.Max(width, 1));
        Loops.Chunked(rows, minRows, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (int start, int n) =>
        {
            for (int r = start; r < start + n; r++) body(r);
        });
    }

    /// <summary>exp(x) / sum(exp(x)) along <paramref name="dim"/>.</summary>
    public Tensor softmax(long dim) => RowWise(dim, log: false);

    /// <summary>x - logsumexp(x) along <paramref name="dim"/>.</summary>
    public Tensor log_softmax(long dim) => RowWise(dim, log: true);

    private Tensor RowWise(long dim, bool log)
    {
        int d = Dim(dim);
        if (d != Sizes.Length - 1) return transpose(d, -1).RowWise(-1, log).transpose(d, -1);
        var x = contiguous().detach();
        int width = Sizes[^1], rows = Numel / Math.Max(width, 1);
        var y = Buffers.Uninitialized(Numel);
        ForRows(rows, width, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (int r) =>
        {
            var src = x.Storage.AsSpan(x.Offset + r * width, width);
            var dst = y.AsSpan(r * width, width);
            float max = Simd.Max(src);
            src.CopyTo(dst);
            float sum = VectorMath.ExpShiftedSum(dst, max);
            if (log) Simd.Subtract(src, max + MathF.Log(sum), dst);
            else Simd.Multiply(dst, 1f / sum, dst);
        });
        var result = new Tensor(y, (int[])Sizes.Clone());
        return Autograd.Record(result, log ? "LogSoftmaxBackward" : "SoftmaxBackward", [this], g =>
        {
            var gc = g.contiguous();
            var gx = Buffers.Uninitialized(y.Length);
            ForRows(rows, width, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (int r) =>
            {
                var gs = gc.Storage.AsSpan(gc.Offset + r * width, width);
                var ys = y.AsSpan(r * width, width);
                var dst = gx.AsSpan(r * width, width);
                if (log)
                {
                    // d/dx (x - lse) = g - softmax * sum(g)
                    float sum = Simd.Sum(gs);
                    ys.CopyTo(dst);
                    VectorMath.ExpShiftedSum(dst, 0f);
                    Simd.MultiplyAdd(dst, -sum, gs, dst);
                }
                else
                {
                    // softmax Jacobian: y * (g - <g, y>)
                    float dot = Simd.Dot(gs, ys);
                    Simd.Subtract(gs, dot, dst);
                    Simd.Multiply(dst, ys, dst);
                }
            });
            return [new Tensor(gx, (int[])Sizes.Clone())];
        });
    }
}

public static partial class torch
{
    /// <summary>Softmax along <paramref name="dim"/>.</summary>
    public static Tensor softmax(Tensor x, long dim) => x.softmax(dim);

    /// <summary>Log-softmax along <paramref name="dim"/>.</summary>
    public static Tensor log_softmax(Tensor x, long dim) => x.log_softmax(dim);
}
