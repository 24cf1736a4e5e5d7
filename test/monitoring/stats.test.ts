import { describe, expect, it } from 'vitest';
import {
  chiSquare,
  chiSquareSf,
  jensenShannon,
  kolmogorovSf,
  ks2samp,
  normalCdf,
  psi,
  wasserstein,
  wassersteinNormed,
  zTest,
} from '../../src/monitoring/index.js';
import { column, expectClose, reference } from './reference.js';

const present = (values: Float64Array) => values.filter((v) => !Number.isNaN(v));

describe(`statistics against scipy ${reference.scipy}`, () => {
  for (const c of reference.numeric) {
    describe(`numeric: ${c.name}`, () => {
      const ref = column(c.reference);
      const cur = column(c.current);

      it('KS statistic and p-value (ks_2samp, method auto)', () => {
        const got = ks2samp(ref, cur);
        expectClose(got.statistic, c.ks.statistic, 1e-9, 'statistic');
        expectClose(got.pValue, c.ks.p_value, 1e-6, 'p-value');
      });

      it('Wasserstein-1 and its version normed by the reference std', () => {
        expectClose(wasserstein(ref, cur), c.wasserstein, 1e-9);
        expectClose(wassersteinNormed(ref, cur), c.wasserstein_normed, 1e-9);
      });

      it('PSI and Jensen-Shannon over Evidently bins', () => {
        expectClose(psi(present(ref).sort(), present(cur).sort()), c.psi, 1e-9);
        expectClose(jensenShannon(present(ref).sort(), present(cur).sort()), c.jensenshannon, 1e-9);
      });

      if (c.chisquare && c.z) {
        const { chisquare, z } = c;
        it('chi-square and Z-test', () => {
          const chi = chiSquare(present(ref), present(cur));
          expectClose(chi.statistic, chisquare.statistic, 1e-9, 'chi-square');
          expectClose(chi.pValue, chisquare.p_value, 1e-6, 'chi-square p');
          const zt = zTest(present(ref), present(cur));
          expectClose(zt.statistic, z.statistic, 1e-9, 'z');
          expectClose(zt.pValue, z.p_value, 1e-6, 'z p');
        });
      }
    });
  }

  for (const c of reference.categorical) {
    it(`categorical: ${c.name}`, () => {
      expectClose(psi(c.reference, c.current), c.psi, 1e-9, 'psi');
      expectClose(jensenShannon(c.reference, c.current), c.jensenshannon, 1e-9, 'js');
      const chi = chiSquare(c.reference, c.current);
      expectClose(chi.statistic, c.chisquare.statistic, 1e-9, 'chi-square');
      expectClose(chi.pValue, c.chisquare.p_value, 1e-6, 'chi-square p');
      const zt = zTest(c.reference, c.current);
      expectClose(zt.statistic, c.z.statistic, 1e-9, 'z');
      expectClose(zt.pValue, c.z.p_value, 1e-6, 'z p');
    });
  }

  it('kstwo.sf on every branch of scipy kolmogn', () => {
    for (const { n, x, sf } of reference.kstwo) expectClose(kolmogorovSf(n, x), sf, 1e-6, `n=${n} x=${x}`);
  });

  it('chi2.sf and norm.cdf', () => {
    for (const { x, df, sf } of reference.special.chi2_sf)
      expectClose(chiSquareSf(x, df), sf, 1e-9, `${x}, ${df}`);
    for (const { z, cdf } of reference.special.norm_cdf) expectClose(normalCdf(z), cdf, 1e-9, `${z}`);
  });
});

describe('statistics: edge cases', () => {
  it('KS drops NaN and refuses an empty sample', () => {
    const a = Float64Array.from([1, 2, Number.NaN, 3]);
    expect(ks2samp(a, [1, 2, 3]).statistic).toBe(0);
    expect(() => ks2samp([Number.NaN], [1])).toThrow(/non-empty/);
  });

  it('chi-square of a single category has no degrees of freedom: p is NaN', () => {
    expect(chiSquare(['a', 'a'], ['a']).pValue).toBeNaN();
  });
});
