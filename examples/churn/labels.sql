-- Churn labels for the Online Retail data: one row per (customer, cutoff day).
--
-- Reads two relations the caller provides:
--   transactions  the raw columns (InvoiceNo, Quantity, InvoiceDate, UnitPrice, CustomerID, Country)
--   cutoffs       one DATE column, cutoff
--
-- A valid purchase is an invoice line with a customer that is neither a cancellation (C...) nor a
-- bad-debt adjustment (A...), with a positive quantity and price. At cutoff day d, a customer
-- qualifies when they made a valid purchase on or before d, and churns (churned = 1) when they
-- make none in the 90 days after it (d+1 .. d+90). The data ends on 2011-12-09, so the last
-- usable cutoff is 2011-09-10. At 2011-09-09, 3,370 customers qualify and 43.1% churn.
--
-- event_timestamp is the end of day d (00:00 the next day): the moment the churn features of day d
-- are stamped, so a point-in-time join gives each row every order up to d and none after it.
-- country is the country of the customer's latest valid purchase up to d.
WITH valid AS (
  SELECT CAST(CustomerID AS BIGINT) AS customer_id, CAST(InvoiceDate AS DATE) AS day, Country
  FROM transactions
  WHERE CustomerID IS NOT NULL
    AND NOT (starts_with(InvoiceNo, 'C') OR starts_with(InvoiceNo, 'A'))
    AND Quantity > 0 AND UnitPrice > 0
)
SELECT v.customer_id,
       CAST(c.cutoff + INTERVAL 1 DAY AS TIMESTAMP) AS event_timestamp,
       c.cutoff,
       CAST(coalesce(min(v.day) FILTER (WHERE v.day > c.cutoff), DATE '9999-12-31')
            > c.cutoff + INTERVAL 90 DAY AS INTEGER) AS churned,
       arg_max(v.Country, v.day) FILTER (WHERE v.day <= c.cutoff) AS country
FROM cutoffs c CROSS JOIN valid v
GROUP BY v.customer_id, c.cutoff
HAVING min(v.day) <= c.cutoff
