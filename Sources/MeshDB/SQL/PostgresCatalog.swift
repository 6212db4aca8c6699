public import QueryPlanner

/// The PostgreSQL system relations (pg_catalog.pg_class, information_schema.tables…) that psql's
/// `\dt`, `\d`, `\l`, `\du` and the drivers' start-up queries read. They are computed from the
/// replicated catalog at the gateway, like the `mesh_*` tables: the planner gathers them as
/// system tables into the scratch database, so a catalog query is plain SQL over plain rows.
///
/// Everything here is a pure function of the catalog, rows in a fixed order (by name), so two
/// gateways answer a catalog query identically. OIDs are stable: PostgreSQL's own for built-in
/// objects (types, namespaces pg_catalog 11 and public 2200, the bootstrap role 10, access
/// methods), and for MeshDB objects a hash of kind and name (`PostgresCatalog.oid(_:_:)`) that
/// every replica computes alike and that does not change when other objects come and go.
public enum PostgresCatalog {
    /// The one database a MeshDB cluster is, as current_database() and pg_database name it.
    public static let databaseName = "meshdb"
    /// The role that owns every object (PostgreSQL's bootstrap superuser has OID 10).
    public static let ownerName = "meshdb"
    public static let ownerOID: Int64 = 10
    public static let databaseOID: Int64 = 5
    static let pgCatalogOID: Int64 = 11
    static let publicOID: Int64 = 2200
    /// PostgreSQL assigns information_schema an OID at initdb; this one is fixed.
    static let informationSchemaOID: Int64 = 13_000
    static let heapAccessMethodOID: Int64 = 2
    static let btreeAccessMethodOID: Int64 = 403
    /// pg_collation's "default", which text columns carry.
    static let defaultCollationOID: Int64 = 100

    /// A system relation: its name as the planner knows it ("pg_class",
    /// "information_schema.tables") and its columns with their PostgreSQL types.
    public struct Relation: Sendable {
        public let name: String
        public let columns: [(name: String, type: PostgresType)]

        /// `spec` lists "name:typname" pairs separated by spaces.
        init(_ name: String, _ spec: String) {
            self.name = name
            columns = spec.split(separator: " ").map { pair in
                let parts = pair.split(separator: ":")
                precondition(parts.count == 2, "column spec \(pair) of \(name) is not name:type")
                guard let type = PostgresType.all.first(where: { $0.name == parts[1] }) else {
                    preconditionFailure("unknown type \(parts[1]) in \(name)")
                }
                return (String(parts[0]), type)
            }
        }

        /// The namespace it lives in and its name there.
        var qualified: (namespace: Int64, schema: String, name: String) {
            if name.hasPrefix("information_schema.") {
                return (PostgresCatalog.informationSchemaOID, "information_schema", String(name.dropFirst("information_schema.".count)))
            }
            return (PostgresCatalog.pgCatalogOID, "pg_catalog", name)
        }

        var plannerTable: PlannerTable {
            PlannerTable(name: name, columns: columns.map { column in
                PlannerColumn(name: column.name, declaredType: column.type.formatted(), sqliteType: PostgresCatalog.sqliteType(of: column.type),
                              isBlob: false, notNull: false)
            }, primaryKey: [], shardKey: [], shardCount: 0, isSystem: true)
        }
    }

    public static let relations: [Relation] = [
        Relation("pg_namespace", "oid:oid nspname:name nspowner:oid nspacl:_text"),
        Relation("pg_class", """
            oid:oid relname:name relnamespace:oid reltype:oid reloftype:oid relowner:oid relam:oid relfilenode:oid \
            reltablespace:oid relpages:int4 reltuples:float4 relallvisible:int4 reltoastrelid:oid relhasindex:bool \
            relisshared:bool relpersistence:char relkind:char relnatts:int2 relchecks:int2 relhasrules:bool \
            relhastriggers:bool relhassubclass:bool relrowsecurity:bool relforcerowsecurity:bool relispopulated:bool \
            relreplident:char relispartition:bool relpartbound:text reloptions:_text relacl:_text
            """),
        Relation("pg_attribute", """
            attrelid:oid attname:name atttypid:oid attstattarget:int4 attlen:int2 attnum:int2 attndims:int4 \
            atttypmod:int4 attbyval:bool attnotnull:bool atthasdef:bool atthasmissing:bool attidentity:char \
            attgenerated:char attisdropped:bool attislocal:bool attinhcount:int4 attcollation:oid attacl:_text
            """),
        Relation("pg_type", """
            oid:oid typname:name typnamespace:oid typowner:oid typlen:int2 typbyval:bool typtype:char typcategory:char \
            typispreferred:bool typisdefined:bool typdelim:char typrelid:oid typelem:oid typarray:oid typbasetype:oid \
            typtypmod:int4 typndims:int4 typcollation:oid typnotnull:bool typdefault:text
            """),
        Relation("pg_index", """
            indexrelid:oid indrelid:oid indnatts:int2 indnkeyatts:int2 indisunique:bool indnullsnotdistinct:bool indisprimary:bool \
            indisexclusion:bool indimmediate:bool indisclustered:bool indisvalid:bool indcheckxmin:bool indisready:bool \
            indislive:bool indisreplident:bool indkey:text indexprs:text indpred:text
            """),
        Relation("pg_constraint", """
            oid:oid conname:name connamespace:oid contype:char condeferrable:bool condeferred:bool convalidated:bool \
            conrelid:oid contypid:oid conindid:oid conparentid:oid confrelid:oid conislocal:bool coninhcount:int4 \
            connoinherit:bool conkey:text confkey:text conbin:text
            """),
        Relation("pg_attrdef", "oid:oid adrelid:oid adnum:int2 adbin:text"),
        Relation("pg_database", """
            oid:oid datname:name datdba:oid encoding:int4 datlocprovider:char datistemplate:bool datallowconn:bool \
            datconnlimit:int4 datcollate:text datctype:text daticulocale:text datacl:_text
            """),
        Relation("pg_roles", """
            oid:oid rolname:name rolsuper:bool rolinherit:bool rolcreaterole:bool rolcreatedb:bool rolcanlogin:bool \
            rolreplication:bool rolconnlimit:int4 rolpassword:text rolvaliduntil:timestamptz rolbypassrls:bool rolconfig:_text
            """),
        Relation("pg_authid", """
            oid:oid rolname:name rolsuper:bool rolinherit:bool rolcreaterole:bool rolcreatedb:bool rolcanlogin:bool \
            rolreplication:bool rolbypassrls:bool rolconnlimit:int4 rolpassword:text rolvaliduntil:timestamptz
            """),
        Relation("pg_user", """
            usename:name usesysid:oid usecreatedb:bool usesuper:bool userepl:bool usebypassrls:bool passwd:text \
            valuntil:timestamptz useconfig:_text
            """),
        Relation("pg_auth_members", "roleid:oid member:oid grantor:oid admin_option:bool"),
        Relation("pg_am", "oid:oid amname:name amhandler:regproc amtype:char"),
        Relation("pg_description", "objoid:oid classoid:oid objsubid:int4 description:text"),
        Relation("pg_collation", """
            oid:oid collname:name collnamespace:oid collowner:oid collprovider:char collisdeterministic:bool \
            collencoding:int4 collcollate:text collctype:text
            """),
        Relation("pg_inherits", "inhrelid:oid inhparent:oid inhseqno:int4 inhdetachpending:bool"),
        Relation("pg_policy", "oid:oid polname:name polrelid:oid polcmd:char polpermissive:bool polroles:text polqual:text polwithcheck:text"),
        Relation("pg_statistic_ext", """
            oid:oid stxrelid:oid stxname:name stxnamespace:oid stxowner:oid stxstattarget:int4 stxkeys:text stxkind:text
            """),
        Relation("pg_publication", """
            oid:oid pubname:name pubowner:oid puballtables:bool pubinsert:bool pubupdate:bool pubdelete:bool pubtruncate:bool \
            pubviaroot:bool
            """),
        Relation("pg_publication_namespace", "oid:oid pnpubid:oid pnnspid:oid"),
        Relation("pg_publication_rel", "oid:oid prpubid:oid prrelid:oid prqual:text prattrs:text"),
        Relation("pg_settings", "name:text setting:text unit:text category:text short_desc:text context:text vartype:text source:text"),
        Relation("information_schema.schemata", "catalog_name:name schema_name:name schema_owner:name"),
        Relation("information_schema.tables", """
            table_catalog:name table_schema:name table_name:name table_type:varchar is_insertable_into:varchar \
            is_typed:varchar commit_action:varchar
            """),
        Relation("information_schema.columns", """
            table_catalog:name table_schema:name table_name:name column_name:name ordinal_position:int4 \
            column_default:varchar is_nullable:varchar data_type:varchar character_maximum_length:int4 \
            numeric_precision:int4 numeric_scale:int4 udt_name:name
            """),
    ]

    /// The relation named `name` ("pg_class", "information_schema.tables"), if it is one.
    public static func relation(named name: String) -> Relation? {
        relations.first { $0.name == name }
    }

    /// A stable OID for a MeshDB object of `kind` ("r" relation, "i" index, "c" constraint, "u"
    /// user): FNV-1a over kind and name, folded into the range PostgreSQL leaves to user
    /// objects (16384 up to 2^31), so it is positive in an int4 as clients expect.
    public static func oid(_ kind: String, _ name: String) -> Int64 {
        var hash: UInt32 = 2_166_136_261
        for byte in "\(kind):\(name)".utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return 16_384 + Int64(hash % (UInt32(Int32.max) - 16_384))
    }

    /// The SQLite type a system relation's column is declared with in the scratch database:
    /// booleans and OIDs are integers, so `WHERE NOT attisdropped` and `c.oid = '16384'`
    /// compare as PostgreSQL does.
    static func sqliteType(of type: PostgresType) -> String {
        switch type {
        case .float4, .float8: "REAL"
        case .numeric: "NUMERIC"
        case _ where type.category == "N" || type == .bool: "INTEGER"
        default: "TEXT"
        }
    }

    /// The PostgreSQL type of a catalog column: its written type when PostgreSQL knows it,
    /// otherwise its storage type's (a column declared `integer` is int4, as in PostgreSQL).
    public static func type(of column: CatalogColumn) -> PostgresType {
        if let written = PostgresType(named: column.declaredType) { return written }
        switch column.type {
        case .integer: return .int8
        case .real: return .float8
        case .text: return .text
        case .blob: return .bytea
        case .boolean: return .bool
        case .numeric: return .numeric
        case .timestamp: return .timestamp
        }
    }

    /// pg_attribute.atttypmod of a written type: PostgreSQL's encoding of `varchar(n)`,
    /// `char(n)` (n + 4) and `numeric(p, s)` (((p << 16) | s) + 4); -1 without modifiers.
    static func typeModifier(of declaredType: String, type: PostgresType) -> Int64 {
        guard let open = declaredType.firstIndex(of: "("), let close = declaredType.lastIndex(of: ")") else { return -1 }
        let numbers = declaredType[declaredType.index(after: open)..<close].split(separator: ",").compactMap {
            Int64($0.filter { $0 != " " })
        }
        switch (type, numbers.count) {
        case (.varchar, 1), (.bpchar, 1): return numbers[0] + 4
        case (.numeric, 1): return (numbers[0] << 16) + 4
        case (.numeric, 2): return ((numbers[0] << 16) | numbers[1]) + 4
        default: return -1
        }
    }
}
