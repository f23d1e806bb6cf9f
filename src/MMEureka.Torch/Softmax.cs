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
        Loops.Chunked(rows, minRows, (start, n) =>
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
            float max = TensorPrimitives.Max(src);
            TensorPrimitives.Subtract(src, max, dst);
            TensorPrimitives.Exp(dst, dst);
            float sum = TensorPrimitives.Sum(dst);
            if (log) TensorPrimitives.Subtract(src, max + MathF.Log(sum), dst);
            else TensorPrimitives.Divide(dst, sum, dst);
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
                    float sum = TensorPrimitives.Sum(gs);
                    TensorPrimitives.Exp(ys, dst);
                    TensorPrimitives.MultiplyAdd(dst, -sum, gs, dst);
                }
                else
                {
                    // softmax Jacobian: y * (g - <g, y>)
                    float dot = TensorPrimitives.Dot(gs, ys);
                    TensorPrimitives.Subtract(gs, dot, dst);
                    TensorPrimitives.Multiply(dst, ys, dst);
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
