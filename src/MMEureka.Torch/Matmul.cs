namespace MMEureka.Torch;

// Matrix products. Every product is a call (or a loop of calls) to Gemm.Sgemm; transposed views are passed as
// transpose flags with their leading dimension instead of being copied.
public sealed partial class Tensor
{
    /// <summary>Matrix product with PyTorch's rules: 1-D operands are promoted (and the added dimension removed),
    /// leading (batch) dimensions broadcast, and [..., m, k] @ [k, n] runs as one [M, k] @ [k, n] product.</summary>
    public Tensor matmul(Tensor other)
    {
        if (Sizes.Length == 0 || other.Sizes.Length == 0) throw new ArgumentException("matmul does not accept 0-dim tensors");
        if (Sizes.Length == 1 && other.Sizes.Length == 1) return mul(other).sum();
        if (Sizes.Length == 1) return unsqueeze(0).matmul(other).squeeze(-2);
        if (other.Sizes.Length == 1) return matmul(other.unsqueeze(1)).squeeze(-1);

        var a = this;
        var b = other;
        var result = MatmulRaw(a, b);
        return Autograd.Record(result, "MmBackward", [a, b], g =>
        {
            Tensor? ga = null, gb = null;
            if (a.requires_grad) ga = SumTo(MatmulRaw(g, b.mT), a.Sizes);
            if (b.requires_grad)
            {
                if (b.Sizes.Length == 2)
                {
                    int k = a.Sizes[^1], n = b.Sizes[^1];
                    gb = MatmulRaw(a.reshape(-1, k).mT, g.reshape(-1, n));
                }
                else gb = SumTo(MatmulRaw(a.mT, g), b.Sizes);
            }
            return [ga, gb];
        });
    }

    /// <summary>Storage layout of a matrix view for Sgemm: (transposed?, leading dimension), or null if neither
    /// its rows nor its columns are unit-stride.</summary>
    internal static (bool trans, int ld)? GemmLayout(int rows, int cols, int rowStride, int colStride)
    {
        if ((colStride == 1 || cols == 1) && (rows == 1 || rowStride >= cols)) return (false, rows == 1 ? cols : rowStride);
        if ((rowStride == 1 || rows == 1) && (cols == 1 || colStride >= rows)) return (true, cols == 1 ? rows : colStride);
        return null;
    }

    /// <summary>The product without autograd: a [..., m, k] @ b [..., k, n] into a new contiguous tensor.</summary>
    internal static Tensor MatmulRaw(Tensor a, Tensor b)
    {
        int m = a.Sizes[^2], k = a.Sizes[^1], n = b.Sizes[^1];
        if (b.Sizes[^2] != k)
            throw new ArgumentException($"matmul: shapes {ShapeString(a.Sizes)} and {ShapeString(b.Sizes)} do not match (inner {k} vs {b.Sizes[^2]})");

        // Fold the batch of a into rows when b is a single matrix and a's rows are evenly spaced.
        if (b.Sizes.Length == 2 && a.Sizes.Length > 2)
        {
            int rows = a.Numel / Math.Max(k, 1);
            var foldedStrides = a.ViewStrides([rows, k]);
            if (foldedStrides != null)
            {
                var outSizes = (int[])a.Sizes.Clone();
                outSizes[^1] = n;
                var c = Buffers.Uninitialized(NumelOf(outSizes));
                Product(new Tensor(a.Storage, [rows, k], foldedStrides, a.Offset), b, c, 0);
                return new Tensor(c, outSizes);
            }
        }

        var batchA = a.Sizes[..^2];
        var batchB = b.Sizes[..^2];
        var batch = Broadcast.Shape(batchA, batchB);
        var resultSizes = new int[batch.Length + 2];
        batch.CopyTo(resultSizes, 0);
        resultSizes[^2] = m;
        resultSizes[^1] = n;
        var result = Buffers.Uninitialized(NumelOf(resultSizes));
        var aBatch = new Tensor(a.Storage, batchA, a.Strides[..^2], a.Offset);
        var bBatch = new Tensor(b.Storage, batchB, b.Strides[..^2], b.Offset);
        var aStrides = Broadcast.Strides(aBatch, batch);
        var bStrides = Broadcast.Strides(bBatch, batch);
        int count = NumelOf(batch);
        var index = new int[batch.Length];
        for (int i = 0; i < count; i++)
        {
            int ao = a.Offset, bo = b.Offset;
            for (int d = 0; d < batch.Length; d++)
            {
                ao += index[d] * aStrides[d];
                bo += index[d] * bStrides[d];
            }
            Product(new Tensor(a.Storage, [m, k], [a.Strides[^2], a.Strides[^1]], ao),
                new Tensor(b.Storage, [k, n], [b.Strides[^2], b.Strides[^1]], bo), result, i * m * n);
            for (int d = batch.Length - 1; d >= 0 && ++index[d] == batch[d]; d--) index[d] = 0;
        }
        return new Tensor(result, resultSizes);
    }

    /// <summary>c[cOffset..] (m x n, contiguous) = a (m x k) @ b (k x n) for 2-D views.</summary>
    private static void Product(Tensor a, Tensor b, float[] c, int cOffset)
    {
        int m = a.Sizes[0], k = a.Sizes[1], n = b.Sizes[1];
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            Array.Clear(c, cOffset, m * n);
            return;
        }
        var la = GemmLayout(m, k, a.Strides[0], a.Strides[1]);
        if (la == null)
        {
            a = new Tensor(a.ToArray(), a.Sizes);
            la = (false, k);
        }
        var lb = GemmLayout(k, n, b.Strides[0], b.Strides[1]);
        if (lb == null)
        {
            b = new Tensor(b.ToArray(), b.Sizes);
            lb = (false, n);
        }
        Gemm.Sgemm(la.Value.trans, lb.Value.trans, m, n, k, 1f, a.Storage, a.Offset, la.Value.ld,
            b.Storage, b.Offset, lb.Value.ld, 0f, c, cOffset, n);
    }
}

public static partial class torch
{
    /// <summary>Matrix product (see <see cref="Tensor.matmul"/>).</summary>
    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);

    /// <summary>Batched matrix product of [B, m, k] and [B, k, n].</summary>
    public static Tensor bmm(Tensor a, Tensor b) => a.matmul(b);
}
