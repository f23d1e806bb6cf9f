using System.Runtime.CompilerServices;

namespace MMEureka.Torch;

public static partial class torch
{
    public static partial class nn
    {
        public static partial class functional
        {
            /// <summary>
            /// gelu(x W^T + b), the same numbers as <c>linear(...).gelu()</c> as one op (the MLP's first layer): the
            /// exact GELU runs on each strip of rows as the GEMM finishes it, in place while the strip is in cache, and
            /// writes its slope Φ(h) + h φ(h) for the backward. The pre-activation h is never written out and read
            /// back, and the backward forms dh = dy * slope and the bias gradient in one pass.
            /// </summary>
            public static Tensor linear_gelu(Tensor input, Tensor weight, Tensor? bias = null)
            {
                var (x, xt, ldx, w, rows, inF, outF) = LinearOperands(input, weight, bias);
                bool grad = Autograd.Enabled && (input.requires_grad || weight.requires_grad || bias?.requires_grad == true);
                var y = Buffers.Uninitialized(rows * outF);
                var slope = grad ? Buffers.Uninitialized(rows * outF) : null;
                var b = bias?.contiguous().detach();
                if (!grad && Packed(weight, w, xt, ldx, inF) is { } packed)
                {
                    PackedLinear.Forward(x.Storage, x.Offset, ldx, rows, inF, packed, outF, b?.Storage, b?.Offset ?? 0, y, 0);
                    Loops.Chunked(rows, Math.Max(1, (1 << 14) / Math.Max(outF, 1)), (r0, count) =>
                    {
                        var h = y.AsSpan(r0 * outF, count * outF);
                        Gelu.Forward(h, h);
                    });
                    return Autograd.Record(new Tensor(y, LinearSizes(input, outF)), "LinearGeluBackward", [], _ => []);
                }
                Gemm.SgemmEpilogue(xt, true, rows, outF, inF, x.Storage, x.Offset, ldx, w.Storage, w.Offset, inF,
                    b?.Storage, b?.Offset ?? 0, y, 0, outF, (r0, count) =>
                    {
                        var h = y.AsSpan(r0 * outF, count * outF);
                        Gelu.Forward(h, h, slope == null ? default : slope.AsSpan(r0 * outF, count * outF));
                    });
                var inputs = bias == null ? new[] { input, weight } : new[] { input, weight, bias };
                return Autograd.Record(new Tensor(y, LinearSizes(input, outF)), "LinearGeluBackward", inputs, g =>
                {
                    var gy = g.contiguous();
                    var dh = Buffers.Uninitialized(rows * outF);
                    var gb = bias != null && bias.requires_grad ? new float[outF] : null;
                    // dh = dy * gelu'(h), and the bias gradient (column sums of dh over the rows in order) on the way.
                    ColumnSlices(outF, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (int c0, int n) =>
                    {
                        for (int r = 0; r < rows; r++)
                        {
                            var d = dh.AsSpan(r * outF + c0, n);
                            Simd.Multiply(gy.Storage.AsSpan(gy.Offset + r * outF + c0, n), slope!.AsSpan(r * outF + c0, n), d);
                            if (gb != null) Simd.Add(gb.AsSpan(c0, n), d, gb.AsSpan(c0, n));
                        }
                    });
                    var grads = LinearGrads(input, weight, bias, x, xt, ldx, w, dh, 0, rows, inF, outF, gb);
                    Buffers.Return(dh); // private to this backward: no gradient refers to it
                    return grads;
                }, scratch: slope == null ? null : [slope]);
            }
        }
    }
}
