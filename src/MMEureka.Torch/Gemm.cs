namespace MMEureka.Torch;

/// <summary>
/// Single-precision matrix product, row-major: C = alpha * op(A) * op(B) + beta * C, where op(A) is m x k and
/// op(B) is k x n. Leading dimensions are row strides of the stored (untransposed) arrays, as in cblas with
/// CblasRowMajor. This is the only place the engine multiplies matrices.
/// </summary>
public static class Gemm
{
    /// <summary>Which backend runs the products: "openblas" or "managed".</summary>
    public static string Backend => "naive";

    /// <summary>C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C[m,n] (row-major, offsets into the arrays).</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc)
        => Reference(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);

    /// <summary>The triple loop, kept as the reference the fast backends are tested against.</summary>
    public static void Reference(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[aOffset + p * lda + i] : a[aOffset + i * lda + p];
                    float bv = transB ? b[bOffset + j * ldb + p] : b[bOffset + p * ldb + j];
                    sum += (double)av * bv;
                }
                int ci = cOffset + i * ldc + j;
                c[ci] = (float)(alpha * sum + (beta == 0 ? 0 : beta * c[ci]));
            }
    }
}
