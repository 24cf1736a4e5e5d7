;; The GBDT trainer's hot loops, in WebAssembly with 128-bit SIMD. Under V8, the same loops in
;; TypeScript re-check each typed array's map and length on every iteration and add the gradient
;; and hessian one at a time; here a row's (gradient, hessian) pair is one f64x2 value and one
;; vector add per cell, and memory needs no bounds checks (guard pages do it). The histogram and
;; score loops add in the order a scalar loop would, so the trees are those the TypeScript loops
;; grew before, bit for bit.
;;
;; Every pointer is a byte address in the imported memory. Row indices are u32, bins u8,
;; gradients and hessians f64 pairs (16 bytes per row), histogram slots, labels, weights and raw
;; scores f64.
;; Assemble with `npm run build:wasm` (wabt's wat2wasm); the test suite checks the committed
;; binary matches this text.
(module
  (memory (import "keel" "memory") 1 65536)
  ;; Log-loss gradients, two rows per step: p = 1 / (1 + e^-z), gh[i] = (w (p - y), w max(p (1 - p),
  ;; 1e-16)); the floor keeps a leaf's denominator positive when every row is predicted with
  ;; certainty. n is even (the caller gives an odd count's last row a partner).
  ;; e^-z is computed here within a few ulp (Math.exp would be a call into C): x = (k / 64) ln 2 + r
  ;; with |r| <= ln 2 / 128, e^x = 2^(k >> 6) * 2^((k & 63) / 64) * e^r, e^r by a degree-5
  ;; polynomial; `fraction` holds 2^(j / 64) for j = 0..63. ln 2 / 64 is split in two (fdlibm's
  ;; ln2_hi and ln2_lo over 64) so that k times the first part is exact. x is clamped to
  ;; [-708, 709] first, where every power of two involved is a normal number: beyond it the
  ;; sigmoid is 0 or 1 to double precision either way. NaN stays NaN.
  ;; The loss,
  ;; sum log(1 + e^-z) + (1 - y) z, needs no logarithm per row: it is kept as a running product
  ;; per lane, rescaled by 2^-256 before it can overflow; out receives (sum of the other terms,
  ;; product, octaves taken out) and the caller adds log(product) + octaves ln 2. Terms of 2^256
  ;; and more go to the sum directly: there log(1 + e) = -z.
  (func (export "logistic_gradients")
    (param $n i32) (param $y i32) (param $w i32) (param $raw i32) (param $gh i32)
    (param $fraction i32) (param $out i32)
    (local $end i32) (local $z v128) (local $e v128) (local $p v128) (local $yv v128) (local $wv v128)
    (local $g v128) (local $h v128) (local $small v128) (local $over v128)
    (local $x v128) (local $k v128) (local $r v128) (local $ki v128) (local $j v128)
    (local $sum v128) (local $product v128) (local $octaves v128)
    (local.set $product (f64x2.splat (f64.const 1)))
    (local.set $end (i32.add (local.get $raw) (i32.shl (local.get $n) (i32.const 3))))
    (block $done
      (br_if $done (i32.ge_u (local.get $raw) (local.get $end)))
      (loop $pairs
        (local.set $z (v128.load (local.get $raw)))
        ;; e = e^x for x = -z, inlined: a call would spill every live vector register.
        (local.set $x (f64x2.neg (local.get $z)))
        ;; pmin and pmax: x < -708 ? -708 : x, then 709 < x ? 709 : x.
        (local.set $x (f64x2.pmin (f64x2.pmax (local.get $x) (f64x2.splat (f64.const -708))) (f64x2.splat (f64.const 709))))
        ;; 64 / ln 2
        (local.set $k
          (f64x2.floor (f64x2.add (f64x2.mul (local.get $x) (f64x2.splat (f64.const 0x1.71547652b82fep+6))) (f64x2.splat (f64.const 0.5)))))
        (local.set $r
          (f64x2.sub
            (f64x2.sub (local.get $x) (f64x2.mul (local.get $k) (f64x2.splat (f64.const 0x1.62e42fee00000p-7))))
            (f64x2.mul (local.get $k) (f64x2.splat (f64.const 0x1.a39ef35793c76p-39)))))
        (local.set $ki (i32x4.trunc_sat_f64x2_s_zero (local.get $k)))
        (local.set $j (i32x4.shl (v128.and (local.get $ki) (i32x4.splat (i32.const 63))) (i32.const 3)))
        (local.set $e
          (f64x2.mul
            (f64x2.mul
              ;; 2^(k >> 6), built from its exponent bits.
              (i64x2.shl
                (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.shr_s (local.get $ki) (i32.const 6))) (i64x2.splat (i64.const 1023)))
                (i32.const 52))
              (f64x2.replace_lane 1
                (f64x2.splat (f64.load (i32.add (local.get $fraction) (i32x4.extract_lane 0 (local.get $j)))))
                (f64.load (i32.add (local.get $fraction) (i32x4.extract_lane 1 (local.get $j))))))
            (f64x2.add (f64x2.splat (f64.const 1)) (f64x2.mul (local.get $r)
              (f64x2.add (f64x2.splat (f64.const 1)) (f64x2.mul (local.get $r)
                (f64x2.add (f64x2.splat (f64.const 0.5)) (f64x2.mul (local.get $r)
                  (f64x2.add (f64x2.splat (f64.const 0x1.5555555555555p-3)) (f64x2.mul (local.get $r)
                    (f64x2.add (f64x2.splat (f64.const 0x1.5555555555555p-5))
                      (f64x2.mul (local.get $r) (f64x2.splat (f64.const 0x1.1111111111111p-7))))))))))))))

        (local.set $p (f64x2.div (f64x2.splat (f64.const 1)) (f64x2.add (f64x2.splat (f64.const 1)) (local.get $e))))
        (local.set $yv (v128.load (local.get $y)))
        (local.set $wv (v128.load (local.get $w)))
        (local.set $g (f64x2.mul (local.get $wv) (f64x2.sub (local.get $p) (local.get $yv))))
        (local.set $h
          (f64x2.mul (local.get $wv)
            (f64x2.pmax (f64x2.mul (local.get $p) (f64x2.sub (f64x2.splat (f64.const 1)) (local.get $p))) (f64x2.splat (f64.const 1e-16)))))
        ;; (g0, h0) and (g1, h1): the rows' interleaved pairs.
        (v128.store (local.get $gh)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $g) (local.get $h)))
        (v128.store offset=16 (local.get $gh)
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $g) (local.get $h)))
        (local.set $sum
          (f64x2.add (local.get $sum) (f64x2.mul (f64x2.sub (f64x2.splat (f64.const 1)) (local.get $yv)) (local.get $z))))
        (local.set $small (f64x2.lt (local.get $e) (f64x2.splat (f64.const 0x1p+256))))
        (local.set $product
          (f64x2.mul (local.get $product)
            (v128.bitselect (f64x2.add (f64x2.splat (f64.const 1)) (local.get $e)) (f64x2.splat (f64.const 1)) (local.get $small))))
        (local.set $sum
          (f64x2.sub (local.get $sum) (v128.bitselect (f64x2.splat (f64.const 0)) (local.get $z) (local.get $small))))
        (local.set $over (f64x2.gt (local.get $product) (f64x2.splat (f64.const 0x1p+256))))
        (if (v128.any_true (local.get $over))
          (then
            (local.set $product
              (v128.bitselect (f64x2.mul (local.get $product) (f64x2.splat (f64.const 0x1p-256))) (local.get $product) (local.get $over)))
            (local.set $octaves
              (f64x2.add (local.get $octaves) (v128.bitselect (f64x2.splat (f64.const 256)) (f64x2.splat (f64.const 0)) (local.get $over))))))
        (local.set $raw (i32.add (local.get $raw) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (local.set $w (i32.add (local.get $w) (i32.const 16)))
        (local.set $gh (i32.add (local.get $gh) (i32.const 32)))
        (br_if $pairs (i32.lt_u (local.get $raw) (local.get $end)))))
    (f64.store (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $sum)) (f64x2.extract_lane 1 (local.get $sum))))
    ;; Each lane's product is below 2^256, so theirs cannot overflow.
    (f64.store offset=8 (local.get $out)
      (f64.mul (f64x2.extract_lane 0 (local.get $product)) (f64x2.extract_lane 1 (local.get $product))))
    (f64.store offset=16 (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $octaves)) (f64x2.extract_lane 1 (local.get $octaves)))))

  ;; Histogram: for each row r of index[ip..iend), adds (g, h) = gh[r] to the slot pair at every
  ;; byte offset cells[row_start[r] .. row_start[r + 1]) from hist. Rows hold an even number of
  ;; cells (odd ones are padded with a sink slot), so two cells per step need no remainder.
  (func (export "add_rows")
    (param $hist i32) (param $row_start i32) (param $cells i32)
    (param $ip i32) (param $iend i32) (param $gh i32)
    (local $r i32) (local $o i32) (local $last i32) (local $gh_r v128) (local $s i32) (local $t i32)
    (block $done
      (br_if $done (i32.ge_u (local.get $ip) (local.get $iend)))
      (loop $rows
        (local.set $r (i32.load (local.get $ip)))
        (local.set $gh_r (v128.load (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4)))))
        (local.set $s (i32.add (local.get $row_start) (i32.shl (local.get $r) (i32.const 2))))
        (local.set $o (i32.add (local.get $cells) (i32.shl (i32.load (local.get $s)) (i32.const 2))))
        (local.set $last (i32.add (local.get $cells) (i32.shl (i32.load offset=4 (local.get $s)) (i32.const 2))))
        (block $row_done
          (br_if $row_done (i32.ge_u (local.get $o) (local.get $last)))
          (loop $pairs
            (local.set $s (i32.add (local.get $hist) (i32.load (local.get $o))))
            (local.set $t (i32.add (local.get $hist) (i32.load offset=4 (local.get $o))))
            (v128.store (local.get $s) (f64x2.add (v128.load (local.get $s)) (local.get $gh_r)))
            (v128.store (local.get $t) (f64x2.add (v128.load (local.get $t)) (local.get $gh_r)))
            (local.set $o (i32.add (local.get $o) (i32.const 8)))
            (br_if $pairs (i32.lt_u (local.get $o) (local.get $last)))))
        (local.set $ip (i32.add (local.get $ip) (i32.const 4)))
        (br_if $rows (i32.lt_u (local.get $ip) (local.get $iend))))))

  ;; As add_rows, and adds 1 to the row-count slot after each (g, h) pair (slots of stride 3). A
  ;; twin rather than a flag: a test per cell costs more than the repeated lines; keep them in step.
  (func (export "add_rows_counted")
    (param $hist i32) (param $row_start i32) (param $cells i32)
    (param $ip i32) (param $iend i32) (param $gh i32)
    (local $r i32) (local $o i32) (local $last i32) (local $gh_r v128) (local $s i32) (local $t i32)
    (block $done
      (br_if $done (i32.ge_u (local.get $ip) (local.get $iend)))
      (loop $rows
        (local.set $r (i32.load (local.get $ip)))
        (local.set $gh_r (v128.load (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4)))))
        (local.set $s (i32.add (local.get $row_start) (i32.shl (local.get $r) (i32.const 2))))
        (local.set $o (i32.add (local.get $cells) (i32.shl (i32.load (local.get $s)) (i32.const 2))))
        (local.set $last (i32.add (local.get $cells) (i32.shl (i32.load offset=4 (local.get $s)) (i32.const 2))))
        (block $row_done
          (br_if $row_done (i32.ge_u (local.get $o) (local.get $last)))
          (loop $pairs
            (local.set $s (i32.add (local.get $hist) (i32.load (local.get $o))))
            (local.set $t (i32.add (local.get $hist) (i32.load offset=4 (local.get $o))))
            (v128.store (local.get $s) (f64x2.add (v128.load (local.get $s)) (local.get $gh_r)))
            (f64.store offset=16 (local.get $s) (f64.add (f64.load offset=16 (local.get $s)) (f64.const 1)))
            (v128.store (local.get $t) (f64x2.add (v128.load (local.get $t)) (local.get $gh_r)))
            (f64.store offset=16 (local.get $t) (f64.add (f64.load offset=16 (local.get $t)) (f64.const 1)))
            (local.set $o (i32.add (local.get $o) (i32.const 8)))
            (br_if $pairs (i32.lt_u (local.get $o) (local.get $last)))))
        (local.set $ip (i32.add (local.get $ip) (i32.const 4)))
        (br_if $rows (i32.lt_u (local.get $ip) (local.get $iend))))))

;; The dense layout's histogram: row r's bins are the bytes bins[r f .. r f + f), one per
  ;; feature, and feature j's slot of bin b is at hist + offsets[j] + b * 16 (stride 2) or b * 24
  ;; (stride 3, counted, which also adds 1 to the slot's third f64). Features are added in order,
  ;; rows in index order, as the sparse kernels add them.
  (func (export "add_rows_dense")
    (param $hist i32) (param $bins i32) (param $features i32) (param $offsets i32)
    (param $ip i32) (param $iend i32) (param $gh i32)
    (local $r i32) (local $row i32) (local $end i32) (local $o i32) (local $gh_r v128) (local $s i32)
    (block $done
      (br_if $done (i32.ge_u (local.get $ip) (local.get $iend)))
      (loop $rows
        (local.set $r (i32.load (local.get $ip)))
        (local.set $gh_r (v128.load (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4)))))
        (local.set $row (i32.add (local.get $bins) (i32.mul (local.get $r) (local.get $features))))
        (local.set $end (i32.add (local.get $row) (local.get $features)))
        (local.set $o (local.get $offsets))
        (loop $cells
          (local.set $s
            (i32.add (i32.add (local.get $hist) (i32.load (local.get $o)))
              (i32.shl (i32.load8_u (local.get $row)) (i32.const 4))))
          (v128.store (local.get $s) (f64x2.add (v128.load (local.get $s)) (local.get $gh_r)))
          (local.set $o (i32.add (local.get $o) (i32.const 4)))
          (local.set $row (i32.add (local.get $row) (i32.const 1)))
          (br_if $cells (i32.lt_u (local.get $row) (local.get $end))))
        (local.set $ip (i32.add (local.get $ip) (i32.const 4)))
        (br_if $rows (i32.lt_u (local.get $ip) (local.get $iend))))))

  (func (export "add_rows_dense_counted")
    (param $hist i32) (param $bins i32) (param $features i32) (param $offsets i32)
    (param $ip i32) (param $iend i32) (param $gh i32)
    (local $r i32) (local $row i32) (local $end i32) (local $o i32) (local $gh_r v128) (local $s i32)
    (local $b i32)
    (block $done
      (br_if $done (i32.ge_u (local.get $ip) (local.get $iend)))
      (loop $rows
        (local.set $r (i32.load (local.get $ip)))
        (local.set $gh_r (v128.load (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4)))))
        (local.set $row (i32.add (local.get $bins) (i32.mul (local.get $r) (local.get $features))))
        (local.set $end (i32.add (local.get $row) (local.get $features)))
        (local.set $o (local.get $offsets))
        (loop $cells
          (local.set $b (i32.load8_u (local.get $row)))
          (local.set $s
            (i32.add (i32.add (local.get $hist) (i32.load (local.get $o)))
              (i32.add (i32.shl (local.get $b) (i32.const 4)) (i32.shl (local.get $b) (i32.const 3)))))
          (v128.store (local.get $s) (f64x2.add (v128.load (local.get $s)) (local.get $gh_r)))
          (f64.store offset=16 (local.get $s) (f64.add (f64.load offset=16 (local.get $s)) (f64.const 1)))
          (local.set $o (i32.add (local.get $o) (i32.const 4)))
          (local.set $row (i32.add (local.get $row) (i32.const 1)))
          (br_if $cells (i32.lt_u (local.get $row) (local.get $end))))
        (local.set $ip (i32.add (local.get $ip) (i32.const 4)))
        (br_if $rows (i32.lt_u (local.get $ip) (local.get $iend))))))

;; Sums (g, h) = gh[r] over the rows r of index[ip..iend) into out: a node's totals, each
  ;; lane added in row order as a scalar loop would.
  (func (export "sum_rows") (param $ip i32) (param $iend i32) (param $gh i32) (param $out i32)
    (local $sum v128)
    (block $done
      (br_if $done (i32.ge_u (local.get $ip) (local.get $iend)))
      (loop $rows
        (local.set $sum
          (f64x2.add (local.get $sum) (v128.load (i32.add (local.get $gh) (i32.shl (i32.load (local.get $ip)) (i32.const 4))))))
        (local.set $ip (i32.add (local.get $ip) (i32.const 4)))
        (br_if $rows (i32.lt_u (local.get $ip) (local.get $iend)))))
    (v128.store (local.get $out) (local.get $sum)))

  ;; parent -= child over `bytes` bytes, a multiple of 16: leaves the sibling's histogram in parent.
  (func (export "subtract") (param $parent i32) (param $child i32) (param $bytes i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $parent) (local.get $bytes)))
    (block $done
      (br_if $done (i32.ge_u (local.get $parent) (local.get $end)))
      (loop $slots
        (v128.store (local.get $parent)
          (f64x2.sub (v128.load (local.get $parent)) (v128.load (local.get $child))))
        (local.set $parent (i32.add (local.get $parent) (i32.const 16)))
        (local.set $child (i32.add (local.get $child) (i32.const 16)))
        (br_if $slots (i32.lt_u (local.get $parent) (local.get $end))))))

  ;; Stable partition of the rows index[ip..iend): rows r with goes_left[bins[r]] = 1 first, then
  ;; the others; returns the address of the first right row. Branch-free (the side is data, a
  ;; branch would mispredict half the time): each row is written to both the left end and the
  ;; scratch buffer and only one cursor moves. Reading index[ip] before writing index[l] is safe:
  ;; l never passes ip.
  (func (export "partition")
    (param $ip i32) (param $iend i32) (param $bins i32) (param $goes_left i32) (param $scratch i32)
    (result i32)
    (local $l i32) (local $r i32) (local $row i32) (local $left i32)
    (local.set $l (local.get $ip))
    (local.set $r (local.get $scratch))
    (block $done
      (br_if $done (i32.ge_u (local.get $ip) (local.get $iend)))
      (loop $rows
        (local.set $row (i32.load (local.get $ip)))
        (local.set $left
          (i32.load8_u (i32.add (local.get $goes_left) (i32.load8_u (i32.add (local.get $bins) (local.get $row))))))
        (i32.store (local.get $l) (local.get $row))
        (i32.store (local.get $r) (local.get $row))
        (local.set $l (i32.add (local.get $l) (i32.shl (local.get $left) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.shl (i32.xor (local.get $left) (i32.const 1)) (i32.const 2))))
        (local.set $ip (i32.add (local.get $ip) (i32.const 4)))
        (br_if $rows (i32.lt_u (local.get $ip) (local.get $iend)))))
    (memory.copy (local.get $l) (local.get $scratch) (i32.sub (local.get $r) (local.get $scratch)))
    (local.get $l))

  ;; raw[r] += v for the rows r of index[ip..iend).
  (func (export "add_to_range") (param $ip i32) (param $iend i32) (param $raw i32) (param $v f64)
    (local $a i32)
    (block $done
      (br_if $done (i32.ge_u (local.get $ip) (local.get $iend)))
      (loop $rows
        (local.set $a (i32.add (local.get $raw) (i32.shl (i32.load (local.get $ip)) (i32.const 3))))
        (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (local.get $v)))
        (local.set $ip (i32.add (local.get $ip) (i32.const 4)))
        (br_if $rows (i32.lt_u (local.get $ip) (local.get $iend))))))

  ;; raw[r] += left if goes_left[bins[r]] else right, for the rows r of index[ip..iend): a split
  ;; whose children are leaves, routed without partitioning (select: no branch on data).
  (func (export "add_by_side")
    (param $ip i32) (param $iend i32) (param $bins i32) (param $goes_left i32) (param $raw i32)
    (param $left f64) (param $right f64)
    (local $row i32) (local $a i32)
    (block $done
      (br_if $done (i32.ge_u (local.get $ip) (local.get $iend)))
      (loop $rows
        (local.set $row (i32.load (local.get $ip)))
        (local.set $a (i32.add (local.get $raw) (i32.shl (local.get $row) (i32.const 3))))
        (f64.store (local.get $a)
          (f64.add (f64.load (local.get $a))
            (select (local.get $left) (local.get $right)
              (i32.load8_u (i32.add (local.get $goes_left) (i32.load8_u (i32.add (local.get $bins) (local.get $row))))))))
        (local.set $ip (i32.add (local.get $ip) (i32.const 4)))
        (br_if $rows (i32.lt_u (local.get $ip) (local.get $iend))))))

  ;; Logistic regression's two passes over a block of rows, the design matrix z column-major
  ;; (column a of n rows at z + 8 a n). lr_scores: raw[i] = theta[d] + sum_a theta[a] z[a][start + i]
  ;; for i < len, two rows per step, four columns at a time (their products summed pairwise, then
  ;; added to raw). lr_gradient: grad[a] += sum_i
  ;; residual[i] z[a][start + i], two partial sums (even and odd rows) added at the end. The block
  ;; is small enough that its slice of every column is still in cache for the second pass.
  (func (export "lr_scores")
    (param $z i32) (param $n i32) (param $d i32) (param $start i32) (param $len i32)
    (param $theta i32) (param $raw i32)
    (local $a i32) (local $i i32) (local $pairs i32) (local $p i32) (local $o i32) (local $stride i32)
    (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local.set $pairs (i32.and (local.get $len) (i32.const -2)))
    (local.set $stride (i32.shl (local.get $n) (i32.const 3)))
    ;; raw = intercept
    (local.set $b0 (f64x2.splat (f64.load (i32.add (local.get $theta) (i32.shl (local.get $d) (i32.const 3))))))
    (local.set $i (i32.const 0))
    (block $filled
      (br_if $filled (i32.ge_u (local.get $i) (local.get $len)))
      (loop $fill
        (f64.store (i32.add (local.get $raw) (i32.shl (local.get $i) (i32.const 3))) (f64x2.extract_lane 0 (local.get $b0)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $fill (i32.lt_u (local.get $i) (local.get $len)))))
    (local.set $c0 (i32.add (local.get $z) (i32.shl (local.get $start) (i32.const 3))))
    (local.set $a (i32.const 0))
    ;; Four columns per pass over the block: a quarter of the loads and stores of raw.
    (block $fours_done
      (br_if $fours_done (i32.gt_u (i32.add (local.get $a) (i32.const 4)) (local.get $d)))
      (loop $fours
        (local.set $c1 (i32.add (local.get $c0) (local.get $stride)))
        (local.set $c2 (i32.add (local.get $c1) (local.get $stride)))
        (local.set $c3 (i32.add (local.get $c2) (local.get $stride)))
        (local.set $b0 (f64x2.splat (f64.load (i32.add (local.get $theta) (i32.shl (local.get $a) (i32.const 3))))))
        (local.set $b1 (f64x2.splat (f64.load offset=8 (i32.add (local.get $theta) (i32.shl (local.get $a) (i32.const 3))))))
        (local.set $b2 (f64x2.splat (f64.load offset=16 (i32.add (local.get $theta) (i32.shl (local.get $a) (i32.const 3))))))
        (local.set $b3 (f64x2.splat (f64.load offset=24 (i32.add (local.get $theta) (i32.shl (local.get $a) (i32.const 3))))))
        (local.set $i (i32.const 0))
        (block $rows_done
          (br_if $rows_done (i32.ge_u (local.get $i) (local.get $pairs)))
          (loop $rows
            (local.set $o (i32.shl (local.get $i) (i32.const 3)))
            (local.set $p (i32.add (local.get $raw) (local.get $o)))
            (v128.store (local.get $p)
              (f64x2.add (v128.load (local.get $p))
                (f64x2.add
                  (f64x2.add
                    (f64x2.mul (local.get $b0) (v128.load (i32.add (local.get $c0) (local.get $o))))
                    (f64x2.mul (local.get $b1) (v128.load (i32.add (local.get $c1) (local.get $o)))))
                  (f64x2.add
                    (f64x2.mul (local.get $b2) (v128.load (i32.add (local.get $c2) (local.get $o))))
                    (f64x2.mul (local.get $b3) (v128.load (i32.add (local.get $c3) (local.get $o))))))))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (br_if $rows (i32.lt_u (local.get $i) (local.get $pairs)))))
        (if (i32.lt_u (local.get $pairs) (local.get $len))
          (then
            (local.set $o (i32.shl (local.get $pairs) (i32.const 3)))
            (local.set $p (i32.add (local.get $raw) (local.get $o)))
            (f64.store (local.get $p)
              (f64.add (f64.load (local.get $p))
                (f64.add
                  (f64.add
                    (f64.mul (f64x2.extract_lane 0 (local.get $b0)) (f64.load (i32.add (local.get $c0) (local.get $o))))
                    (f64.mul (f64x2.extract_lane 0 (local.get $b1)) (f64.load (i32.add (local.get $c1) (local.get $o)))))
                  (f64.add
                    (f64.mul (f64x2.extract_lane 0 (local.get $b2)) (f64.load (i32.add (local.get $c2) (local.get $o))))
                    (f64.mul (f64x2.extract_lane 0 (local.get $b3)) (f64.load (i32.add (local.get $c3) (local.get $o))))))))))
        (local.set $c0 (i32.add (local.get $c3) (local.get $stride)))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (br_if $fours (i32.le_u (i32.add (local.get $a) (i32.const 4)) (local.get $d)))))
    ;; The last d mod 4 columns one at a time.
    (block $ones_done
      (br_if $ones_done (i32.ge_u (local.get $a) (local.get $d)))
      (loop $ones
        (local.set $b0 (f64x2.splat (f64.load (i32.add (local.get $theta) (i32.shl (local.get $a) (i32.const 3))))))
        (local.set $i (i32.const 0))
        (block $rows_done
          (br_if $rows_done (i32.ge_u (local.get $i) (local.get $pairs)))
          (loop $rows
            (local.set $o (i32.shl (local.get $i) (i32.const 3)))
            (local.set $p (i32.add (local.get $raw) (local.get $o)))
            (v128.store (local.get $p)
              (f64x2.add (v128.load (local.get $p))
                (f64x2.mul (local.get $b0) (v128.load (i32.add (local.get $c0) (local.get $o))))))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (br_if $rows (i32.lt_u (local.get $i) (local.get $pairs)))))
        (if (i32.lt_u (local.get $pairs) (local.get $len))
          (then
            (local.set $o (i32.shl (local.get $pairs) (i32.const 3)))
            (local.set $p (i32.add (local.get $raw) (local.get $o)))
            (f64.store (local.get $p)
              (f64.add (f64.load (local.get $p))
                (f64.mul (f64x2.extract_lane 0 (local.get $b0)) (f64.load (i32.add (local.get $c0) (local.get $o))))))))
        (local.set $c0 (i32.add (local.get $c0) (local.get $stride)))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br_if $ones (i32.lt_u (local.get $a) (local.get $d))))))

  (func (export "lr_gradient")
    (param $z i32) (param $n i32) (param $d i32) (param $start i32) (param $len i32)
    (param $residual i32) (param $grad i32)
    (local $a i32) (local $col i32) (local $i i32) (local $pairs i32) (local $acc v128) (local $g i32)
    (local $sum f64)
    (local.set $pairs (i32.and (local.get $len) (i32.const -2)))
    (local.set $a (i32.const 0))
    (block $columns_done
      (br_if $columns_done (i32.ge_u (local.get $a) (local.get $d)))
      (loop $columns
        (local.set $col
          (i32.add (local.get $z)
            (i32.shl (i32.add (i32.mul (local.get $a) (local.get $n)) (local.get $start)) (i32.const 3))))
        (local.set $acc (v128.const f64x2 0 0))
        (local.set $i (i32.const 0))
        (block $rows_done
          (br_if $rows_done (i32.ge_u (local.get $i) (local.get $pairs)))
          (loop $rows
            (local.set $acc
              (f64x2.add (local.get $acc)
                (f64x2.mul (v128.load (i32.add (local.get $residual) (i32.shl (local.get $i) (i32.const 3))))
                  (v128.load (i32.add (local.get $col) (i32.shl (local.get $i) (i32.const 3)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (br_if $rows (i32.lt_u (local.get $i) (local.get $pairs)))))
        (local.set $sum (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
        (if (i32.lt_u (local.get $pairs) (local.get $len))
          (then
            (local.set $sum
              (f64.add (local.get $sum)
                (f64.mul (f64.load (i32.add (local.get $residual) (i32.shl (local.get $pairs) (i32.const 3))))
                  (f64.load (i32.add (local.get $col) (i32.shl (local.get $pairs) (i32.const 3)))))))))
        (local.set $g (i32.add (local.get $grad) (i32.shl (local.get $a) (i32.const 3))))
        (f64.store (local.get $g) (f64.add (f64.load (local.get $g)) (local.get $sum)))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br_if $columns (i32.lt_u (local.get $a) (local.get $d))))))
)
