namespace MMEureka.Torch;

public static partial class torch
{
    public static partial class nn
    {
        public static partial class functional
        {
            /// <summary>
            /// softmax(q k^T * scale + mask) v for q [B, H, Tq, D] and k, v [B, H, Tk, D], forward and backward fused
            /// per (batch, head) so that no graph of small ops over [B, H, Tq, Tk] is built.
            /// Causal: query i sees keys j &lt;= Tk - Tq + i (queries are the last Tq positions, as with a KV cache).
            /// <paramref name="key_padding_mask"/> [B, Tk]: non-zero = the key may be attended to. A query that sees
            /// no key at all outputs zeros (not NaN).
            /// </summary>
            public static Tensor scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, bool is_causal = false,
                Tensor? key_padding_mask = null, double? scale = null)
            {
                if (query.Sizes.Length != 4 || key.Sizes.Length != 4 || value.Sizes.Length != 4)
                    throw new ArgumentException("scaled_dot_product_attention expects 4-D q, k, v [B, H, T, D]");
                int B = query.Sizes[0], H = query.Sizes[1], Tq = query.Sizes[2], D = query.Sizes[3], Tk = key.Sizes[2];
                if (key.Sizes[0] != B || key.Sizes[1] != H || key.Sizes[3] != D || !key.SameShape(value))
                    throw new ArgumentException($"scaled_dot_product_attention: q {Tensor.ShapeString(query.Sizes)}, k {Tensor.ShapeString(key.Sizes)}, v {Tensor.ShapeString(value.Sizes)} do not match");
                float[]? padding = null;
                if (key_padding_mask != null)
                {
                    if (key_padding_mask.Sizes.Length != 2 || key_padding_mask.Sizes[0] != B || key_padding_mask.Sizes[1] != Tk)
                        throw new ArgumentException($"key_padding_mask must be [B, Tk] = [{B}, {Tk}], got {Tensor.ShapeString(key_padding_mask.Sizes)}");
                    padding = key_padding_mask.ToArray();
                }
                float sc = (float)(scale ?? 1.0 / Math.Sqrt(D));
                var q = HeadMatrices(query);
                var k = HeadMatrices(key);
                var v = HeadMatrices(value);
                var p = new float[B * H * Tq * Tk];
                var o = new float[B * H * Tq * D];
                int keyOffset = Tk - Tq;

                Parallel.For(0, B * H, bh =>
                {
                    int b = bh / H, h = bh % H;
                    int pOff = bh * Tq * Tk;
                    Gemm.Sgemm(false, true, Tq, Tk, D, sc, q.t.Storage, q.Offset(b, h), q.ld, k.t.Storage, k.Offset(b, h), k.ld, 0f, p, pOff, Tk);
                    for (int i = 0; i < Tq; i++)
                    {
                        var row = p.AsSpan(pOff + i * Tk, Tk);
                        int last = is_causal ? Math.Min(Tk - 1, keyOffset + i) : Tk - 1;
                        float max = float.NegativeInfinity;
                        for (int j = 0; j <= last; j++)
                            if (padding == null || padding[b * Tk + j] != 0) max = MathF.Max(max, row[j]);
                        if (float.IsNegativeInfinity(max))
                        {
                            row.Clear(); // nothing visible: a zero output row rather than 0/0
                            continue;
                        }
                        float sum = 0;
                        for (int j = 0; j < Tk; j++)
                        {
                            bool visible = j <= last && (padding == null || padding[b * Tk + j] != 0);
                            float e = visible ? MathF.Exp(row[j] - max) : 0;
                            row[j] = e;
                            sum += e;
                        }
                        System.Numerics.Tensors.TensorPrimitives.Divide(row, sum, row);
                    }
                    Gemm.Sgemm(false, false, Tq, D, Tk, 1f, p, pOff, Tk, v.t.Storage, v.Offset(b, h), v.ld, 0f, o, bh * Tq * D, D);
                });

                var result = new Tensor(o, [B, H, Tq, D]);
                return Autograd.Record(result, "ScaledDotProductAttentionBackward", [query, key, value], g =>
                {
                    var dO = g.contiguous();
                    var dq = new float[B * H * Tq * D];
                    var dk = new float[B * H * Tk * D];
                    var dv = new float[B * H * Tk * D];
                    Parallel.For(0, B * H, bh =>
                    {
                        int b = bh / H, h = bh % H;
                        int pOff = bh * Tq * Tk, oOff = dO.Offset + bh * Tq * D;
                        var dS = new float[Tq * Tk];
                        // dV = P^T dO
                        Gemm.Sgemm(true, false, Tk, D, Tq, 1f, p, pOff, Tk, dO.Storage, oOff, D, 0f, dv, bh * Tk * D, D);
                        // dP = dO V^T, then dS = P * (dP - rowsum(dP * P)) (softmax Jacobian)
                        Gemm.Sgemm(false, true, Tq, Tk, D, 1f, dO.Storage, oOff, D, v.t.Storage, v.Offset(b, h), v.ld, 0f, dS, 0, Tk);
                        for (int i = 0; i < Tq; i++)
                        {
                            var ps = p.AsSpan(pOff + i * Tk, Tk);
                            var ds = dS.AsSpan(i * Tk, Tk);
                            float dot = System.Numerics.Tensors.TensorPrimitives.Dot(ps, ds);
                            System.Numerics.Tensors.TensorPrimitives.Subtract(ds, dot, ds);
                            System.Numerics.Tensors.TensorPrimitives.Multiply(ds, ps, ds);
                        }
                        // dQ = scale dS K, dK = scale dS^T Q
                        Gemm.Sgemm(false, false, Tq, D, Tk, sc, dS, 0, Tk, k.t.Storage, k.Offset(b, h), k.ld, 0f, dq, bh * Tq * D, D);
                        Gemm.Sgemm(true, false, Tk, D, Tq, sc, dS, 0, Tk, q.t.Storage, q.Offset(b, h), q.ld, 0f, dk, bh * Tk * D, D);
                    });
                    return
                    [
                        query.requires_grad ? new Tensor(dq, [B, H, Tq, D]) : null,
                        key.requires_grad ? new Tensor(dk, [B, H, Tk, D]) : null,
                        value.requires_grad ? new Tensor(dv, [B, H, Tk, D]) : null,
                    ];
                });
            }

            /// <summary>A [B, H, T, D] tensor read as B*H row-major [T, D] matrices with leading dimension ld
            /// (copied only if its last dimension is not unit-stride).</summary>
            private readonly record struct HeadView(Tensor t, int ld)
            {
                public int Offset(int b, int h) => t.Offset + b * t.Strides[0] + h * t.Strides[1];
            }

            private static HeadView HeadMatrices(Tensor x)
            {
                int T = x.Sizes[2], D = x.Sizes[3];
                if (x.Strides[3] == 1 && (T == 1 || x.Strides[2] >= D)) return new HeadView(x, T == 1 ? D : x.Strides[2]);
                return new HeadView(new Tensor(x.ToArray(), x.Sizes), D);
            }
        }
    }
}
