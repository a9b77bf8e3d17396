package dev.qry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Flight SQL JDBC driver against qry serve; answers come from DuckDB via the pytest driver. */
class JdbcTest {
  static Connection conn;
  static Map<String, String> expected = new HashMap<>();

  @BeforeAll
  static void connect() throws Exception {
    for (String line : Files.readAllLines(Path.of(System.getProperty("qry.expected")))) {
      String[] kv = line.split("\t", 2);
      expected.put(kv[0], kv[1]);
    }
    String url = "jdbc:arrow-flight-sql://127.0.0.1:" + System.getProperty("qry.port") + "?useEncryption=false";
    conn = DriverManager.getConnection(url);
  }

  @AfterAll
  static void close() throws Exception {
    conn.close();
  }

  @Test
  void query() throws Exception {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery(
            "SELECT payment, count(*) AS n, round(sum(fare), 2) AS total FROM trips GROUP BY ALL ORDER BY payment")) {
      List<String> rows = new ArrayList<>();
      while (rs.next()) {
        rows.add(rs.getString("payment") + "," + rs.getLong("n") + "," + rs.getBigDecimal("total").stripTrailingZeros().toPlainString());
      }
      assertEquals(expected.get("payments"), String.join(";", rows));
    }
  }

  @Test
  void preparedStatementWithParameter() throws Exception {
    try (PreparedStatement ps = conn.prepareStatement("SELECT count(*) FROM trips WHERE passengers >= ?")) {
      ps.setLong(1, 3);
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next());
        assertEquals(Long.parseLong(expected.get("pax3")), rs.getLong(1));
      }
    }
  }

  @Test
  void metadata() throws Exception {
    DatabaseMetaData md = conn.getMetaData();
    assertEquals("qry", md.getDatabaseProductName());
    List<String> tables = new ArrayList<>();
    try (ResultSet rs = md.getTables(null, null, "%", null)) {
      while (rs.next()) {
        tables.add(rs.getString("TABLE_CAT") + "." + rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME"));
      }
    }
    assertEquals(expected.get("tables"), String.join(";", tables));
    List<String> cols = new ArrayList<>();
    try (ResultSet rs = md.getColumns(null, null, "weather", null)) {
      while (rs.next()) {
        cols.add(rs.getString("COLUMN_NAME"));
      }
    }
    assertEquals(expected.get("weather_columns"), String.join(";", cols));
    try (ResultSet rs = md.getCatalogs()) {
      assertTrue(rs.next());
      assertEquals("qry", rs.getString(1));
      assertFalse(rs.next());
    }
  }

  @Test
  void errorsAreSqlExceptions() throws Exception {
    try (Statement st = conn.createStatement()) {
      SQLException e = assertThrows(SQLException.class, () -> st.executeQuery("SELECT nope FROM trips"));
      assertTrue(e.getMessage().contains("nope"), e.getMessage());
      try (ResultSet rs = st.executeQuery("SELECT 42")) {
        assertTrue(rs.next());
        assertEquals(42, rs.getInt(1));
      }
    }
  }
}
